import { describe, expect, it } from "vitest";
import { collectPages, type Topic, type TopicPage } from "../src/api/topics";

const topic = (n: number) => ({ id: `t${n}`, slug: `t-${n}`, name: `Topic ${n}` }) as unknown as Topic;

describe("every topic, page after page", () => {
  it("follows next_cursor until the last page", async () => {
    const pages: Record<string, TopicPage> = {
      start: { items: [topic(1), topic(2)], next_cursor: "b" },
      b: { items: [topic(3)], next_cursor: "c" },
      c: { items: [topic(4)], next_cursor: null },
    };
    const asked: (string | null)[] = [];
    const items = await collectPages(async (cursor) => {
      asked.push(cursor);
      return pages[cursor ?? "start"];
    });
    expect(items.map((t) => t.slug)).toEqual(["t-1", "t-2", "t-3", "t-4"]);
    expect(asked).toEqual([null, "b", "c"]);
  });

  it("stops after `limit` pages when a cursor never ends", async () => {
    let calls = 0;
    const items = await collectPages(async () => ({ items: [topic(++calls)], next_cursor: "again" }), 3);
    expect(calls).toBe(3);
    expect(items).toHaveLength(3);
  });
});
