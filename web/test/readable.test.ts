import { describe, expect, it } from "vitest";
import { describePath, readableDiff } from "../src/components/bibleDiff";
import { markNames, markText, quotedNames, textSpans, violationsOf } from "../src/jobs/words";

const before = {
  version: 1,
  characters: [
    { entityId: "char_mara", canonicalName: "Mara Hart", traits: ["stubborn"], isActive: true },
    { entityId: "char_tom", canonicalName: "Old Tom", isActive: true },
  ],
  timeline: { currentPoint: "The beginning", majorEvents: [] },
  plotThreads: [{ id: "thread_1", description: "Who rings the bell?", status: "open" }],
};

describe("readableDiff", () => {
  it("names list items by their names and shows before and after", () => {
    const lines = readableDiff(
      [
        { op: "replace", path: "/version", value: 2 },
        { op: "replace", path: "/characters/1/isActive", value: false },
        { op: "add", path: "/timeline/majorEvents/0", value: { event: "Tom drowns.", segmentNumber: 1 } },
        { op: "replace", path: "/timeline/currentPoint", value: "After the storm" },
        { op: "remove", path: "/characters/0/traits/0" },
        { op: "replace", path: "/plotThreads/0/status", value: "resolved" },
      ],
      before,
    );
    expect(lines).toEqual([
      { kind: "changed", where: "Characters › Old Tom › active", before: "yes", after: "no" },
      { kind: "added", where: "Timeline › events › Tom drowns." },
      { kind: "changed", where: "Timeline › current point", before: "“The beginning”", after: "“After the storm”" },
      { kind: "removed", where: "Characters › Mara Hart › traits › #1", before: "“stubborn”" },
      { kind: "changed", where: "Plot threads › Who rings the bell? › status", before: "“open”", after: "“resolved”" },
    ]);
  });

  it("shows an added value that the label does not already name", () => {
    expect(readableDiff([{ op: "add", path: "/characters/0/traits/1", value: "brave" }], before)).toEqual([
      { kind: "added", where: "Characters › Mara Hart › traits › #2", after: "“brave”" },
    ]);
  });

  it("decodes escaped pointer tokens", () => {
    expect(describePath("/setting/a~1b~0c", { setting: {} })).toBe("Setting › a/b~c");
  });
});

describe("continuity words", () => {
  const result = {
    violations: [
      { pointer: "/shots/0/characters/0", message: "'Old Tom' is inactive and cannot act", rule: "inactive_character" },
      { pointer: "/shots/1/dialogue/0/character", message: "'Zed' is neither a character of the bible nor declared new" },
    ],
  };

  it("reads violations and the names they quote", () => {
    expect(violationsOf(result).length).toBe(2);
    expect(violationsOf({ violations: "nope" })).toEqual([]);
    expect(violationsOf(null)).toEqual([]);
    expect(quotedNames(violationsOf(result))).toEqual(["Old Tom", "Zed"]);
  });

  it("marks every occurrence of the names in the writer's text, whatever the case", () => {
    const parts = markNames("Old Tom waves. zed replies to OLD TOM.", ["Old Tom", "Zed"]);
    expect(parts.filter((p) => p.marked).map((p) => p.text)).toEqual(["Old Tom", "zed", "OLD TOM"]);
    expect(parts.map((p) => p.text).join("")).toBe("Old Tom waves. zed replies to OLD TOM.");
  });

  it("treats names as text, not patterns", () => {
    expect(markNames("a.b and axb", ["a.b"]).filter((p) => p.marked).map((p) => p.text)).toEqual(["a.b"]);
  });

  it("marks a text violation by its offsets, shifted past the spaces the API trimmed", () => {
    const text = "  Mara waits. Old Vane growled at the sea.";
    const violation = {
      pointer: "/text",
      message: "'Elias Vane' is inactive but acts here: Old Vane growled at the sea.",
      rule: "inactive_character",
      words: "Old Vane",
      start: 12,
      end: 20,
    };
    // Its message quotes a whole sentence: the offsets mark it, not the quoted words.
    expect(quotedNames([violation])).toEqual([]);
    const spans = textSpans(text, [violation, { ...violation, words: "Other", start: 0, end: 5 }]);
    expect(spans).toEqual([[14, 22]]);
    const parts = markText(text, ["mara"], spans);
    expect(parts.filter((p) => p.marked).map((p) => p.text)).toEqual(["Mara", "Old Vane"]);
    expect(parts.map((p) => p.text).join("")).toBe(text);
  });
});
