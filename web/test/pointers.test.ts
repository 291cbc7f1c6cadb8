import { describe, expect, it } from "vitest";
import { bibleErrors, elsewhere } from "../src/bible/pointers";
import type { Problem } from "../src/api/problem";

const problem = (...pointers: string[]): Problem => ({
  title: "Please check what you entered",
  status: 422,
  errors: pointers.map((pointer) => ({ pointer, message: `bad ${pointer}` })),
});

const bible = {
  characters: [{ entityId: "mara", canonicalName: "", isActive: true }],
  plotThreads: [],
  setting: { primaryLocation: "", timePeriod: "" },
};

describe("bible error pointers", () => {
  it("keeps the errors under the bible's place in the body, with or without FastAPI's /body", () => {
    const p = problem("/bible/setting/primaryLocation", "/body/bible/characters/0/canonicalName", "/title", "/data/styleGuide");
    expect(bibleErrors(p, "/bible")).toEqual([
      { pointer: "/setting/primaryLocation", message: "bad /bible/setting/primaryLocation" },
      { pointer: "/characters/0/canonicalName", message: "bad /body/bible/characters/0/canonicalName" },
    ]);
    expect(bibleErrors(p, "/data").map((e) => e.pointer)).toEqual(["/styleGuide"]);
    expect(bibleErrors(null, "/bible")).toEqual([]);
  });

  it("sends what no form field shows to the JSON editor", () => {
    const errors = bibleErrors(
      problem("/data/setting/primaryLocation", "/data/characters/0/entityId", "/data/timeline/currentPoint", "/data", "/data/characters/0"),
      "/data",
    );
    expect(elsewhere(errors, bible).map((e) => e.pointer)).toEqual(["/characters/0/entityId", "/timeline/currentPoint", "/"]);
  });
});
