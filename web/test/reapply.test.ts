import { describe, expect, it } from "vitest";
import { reapply, setAt, type Json } from "../src/bible/reapply";

const bible = (over: Record<string, Json> = {}): Json => ({
  characters: [
    { entityId: "mara", canonicalName: "Mara Hart", isActive: true, description: "A pilot." },
    { entityId: "ivo", canonicalName: "Ivo", isActive: true },
  ],
  setting: { primaryLocation: "Port Vell", timePeriod: "1920s", worldRules: ["No magic"] },
  timeline: { currentPoint: "Dawn", majorEvents: [{ segmentNumber: 1, event: "The crash" }] },
  plotThreads: [{ id: "t1", description: "Who sabotaged the plane?", status: "open" }],
  styleGuide: { tone: "tense", genre: "mystery", visualStyle: "sepia" },
  ...over,
});

describe("reapply (three-way merge of bible edits)", () => {
  it("applies my change on top of an unrelated change by someone else", () => {
    const base = bible();
    const mine = bible({ styleGuide: { tone: "wry", genre: "mystery", visualStyle: "sepia" } });
    const current = bible({ setting: { primaryLocation: "Port Vell", timePeriod: "1930s", worldRules: ["No magic"] } });
    const { merged, conflicts } = reapply(base, mine, current);
    expect(conflicts).toEqual([]);
    expect((merged as any).styleGuide.tone).toBe("wry");
    expect((merged as any).setting.timePeriod).toBe("1930s");
  });

  it("matches characters by entityId, not by position", () => {
    const base = bible();
    const b = base as any;
    // They inserted a character at the front; I edited Ivo (index 1 in base, index 2 in theirs).
    const current = { ...b, characters: [{ entityId: "zed", canonicalName: "Zed", isActive: true }, ...b.characters] };
    const mine = { ...b, characters: [b.characters[0], { ...b.characters[1], isActive: false }] };
    const { merged, conflicts } = reapply(base, mine, current);
    expect(conflicts).toEqual([]);
    const names = (merged as any).characters.map((c: any) => [c.entityId, c.isActive]);
    expect(names).toEqual([
      ["zed", true],
      ["mara", true],
      ["ivo", false],
    ]);
  });

  it("keeps additions from both sides and removals from either", () => {
    const b = bible() as any;
    const mine = { ...b, plotThreads: [...b.plotThreads, { id: "t2", description: "The letter", status: "open" }] };
    const current = { ...b, characters: [b.characters[0]] }; // Ivo removed by them
    const { merged, conflicts } = reapply(b, mine, current);
    expect(conflicts).toEqual([]);
    expect((merged as any).plotThreads.map((t: any) => t.id)).toEqual(["t1", "t2"]);
    expect((merged as any).characters.map((c: any) => c.entityId)).toEqual(["mara"]);
  });

  it("reports a conflict when both changed the same value differently, keeping theirs", () => {
    const b = bible() as any;
    const mine = { ...b, setting: { ...b.setting, primaryLocation: "Lisbon" } };
    const current = { ...b, setting: { ...b.setting, primaryLocation: "Porto" } };
    const { merged, conflicts } = reapply(b, mine, current);
    expect(conflicts).toEqual([
      { pointer: "/setting/primaryLocation", base: "Port Vell", mine: "Lisbon", current: "Porto" },
    ]);
    expect((merged as any).setting.primaryLocation).toBe("Porto");
    // Taking mine for that conflict is one setAt away.
    expect((setAt(merged, conflicts[0].pointer, conflicts[0].mine) as any).setting.primaryLocation).toBe("Lisbon");
  });

  it("the same change on both sides is no conflict", () => {
    const b = bible() as any;
    const both = { ...b, timeline: { ...b.timeline, currentPoint: "Noon" } };
    expect(reapply(b, both, both)).toEqual({ merged: both, conflicts: [] });
  });

  it("an edit to an item they removed is a conflict, and the removal stands", () => {
    const b = bible() as any;
    const mine = { ...b, characters: [b.characters[0], { ...b.characters[1], description: "A mechanic." }] };
    const current = { ...b, characters: [b.characters[0]] };
    const { merged, conflicts } = reapply(b, mine, current);
    expect(conflicts.map((c) => c.pointer)).toEqual(["/characters/1"]);
    expect(conflicts[0].current).toBeUndefined();
    expect((merged as any).characters).toHaveLength(1);
  });

  it("orders timeline events by segment number and merges other lists by content", () => {
    const b = bible() as any;
    const mine = {
      ...b,
      timeline: { ...b.timeline, majorEvents: [...b.timeline.majorEvents, { segmentNumber: 3, event: "The letter" }] },
      setting: { ...b.setting, worldRules: ["No magic", "Radios work"] },
    };
    const current = {
      ...b,
      timeline: { ...b.timeline, majorEvents: [...b.timeline.majorEvents, { segmentNumber: 2, event: "The storm" }] },
      setting: { ...b.setting, worldRules: [] },
    };
    const { merged, conflicts } = reapply(b, mine, current);
    expect(conflicts).toEqual([]);
    expect((merged as any).timeline.majorEvents.map((e: any) => e.segmentNumber)).toEqual([1, 2, 3]);
    // They removed "No magic"; I added "Radios work": both hold.
    expect((merged as any).setting.worldRules).toEqual(["Radios work"]);
  });

  it("is symmetric when there are no conflicts", () => {
    const b = bible() as any;
    const x = { ...b, styleGuide: { ...b.styleGuide, tone: "wry" } };
    const y = { ...b, plotThreads: [...b.plotThreads, { id: "t9", description: "Debt", status: "open" }] };
    expect(reapply(b, x, y).merged).toEqual(reapply(b, y, x).merged);
  });
});
