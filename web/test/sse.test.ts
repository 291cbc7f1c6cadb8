import { describe, expect, it } from "vitest";
import { SseParser, readEvents } from "../src/jobs/sse";

describe("SseParser", () => {
  it("parses events split across arbitrary chunks", () => {
    const text = 'id: "3"\nevent: job\ndata: {"a":1}\n\n: keep-alive\n\nid: "4"\nevent: job\ndata: {"a":2}\n\n';
    for (let size = 1; size <= text.length; size++) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
      expect(events).toEqual([
        { id: '"3"', event: "job", data: '{"a":1}' },
        { id: '"4"', event: "job", data: '{"a":2}' },
      ]);
    }
  });

  it("joins multi-line data, accepts CRLF and CR, and keeps the last id", () => {
    const parser = new SseParser();
    const events = parser.push("id: 1\r\ndata: one\r\ndata: two\r\n\r\ndata:three\r\rdata: x\n");
    expect(events).toEqual([
      { id: "1", event: "message", data: "one\ntwo" },
      { id: "1", event: "message", data: "three" },
    ]);
    expect(parser.lastEventId).toBe("1");
  });

  it("ignores comments and events without data", () => {
    const parser = new SseParser();
    expect(parser.push(": hi\n\nevent: job\n\n")).toEqual([]);
  });

  it("reads a byte stream with multi-byte characters split between chunks", async () => {
    const bytes = new TextEncoder().encode('event: job\ndata: {"m":"café ✓"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const out = [];
    for await (const e of readEvents(body)) out.push(e);
    expect(out).toEqual([{ id: null, event: "job", data: '{"m":"café ✓"}' }]);
  });
});
