import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api/problem";
import { JobFollower, type FollowState, type FollowedJob, type FollowerPorts, type StreamEvent } from "../src/jobs/jobFollower";

const job = (status: string, progress: number, stage = "script_expansion"): FollowedJob => ({
  id: "j1",
  status,
  stage,
  progress,
  message: `${status} ${progress}`,
});

/** An SSE event as the API sends it: `id` its seq in the job's log, the job's ETag in `data`. */
const event = (j: FollowedJob, etag: string, id = etag): StreamEvent => ({ id, data: JSON.stringify({ ...j, etag }) });

async function* stream(events: StreamEvent[], thenFail?: Error): AsyncGenerator<StreamEvent> {
  for (const e of events) yield e;
  if (thenFail) throw thenFail;
}

/** Scripted ports: each openStream/poll call takes the next scripted answer. */
function ports(script: {
  streams: (() => AsyncIterable<StreamEvent> | Error)[];
  polls?: (() => { job: FollowedJob; etag: string } | null | Error)[];
}) {
  const calls = { streams: [] as (string | null)[], polls: [] as (string | null)[], sleeps: 0 };
  const p: FollowerPorts<FollowedJob> = {
    async openStream(_id, lastEventId) {
      calls.streams.push(lastEventId);
      const next = script.streams.shift();
      if (!next) throw new Error("no more streams scripted");
      const value = next();
      if (value instanceof Error) throw value;
      return value;
    },
    async poll(_id, etag) {
      calls.polls.push(etag);
      const next = script.polls?.shift();
      if (!next) throw new Error("no more polls scripted");
      const value = next();
      if (value instanceof Error) throw value;
      return value;
    },
    async sleep() {
      calls.sleeps++;
    },
  };
  return { p, calls };
}

function record(follower: JobFollower) {
  const seen: FollowState<FollowedJob>[] = [];
  follower.subscribe((s) => seen.push(s));
  return seen;
}

const problem = (status: number, title: string) => new ApiError({ status, title, detail: `${title} detail` });

describe("JobFollower", () => {
  it("streams every change and ends done at a terminal status", async () => {
    const { p, calls } = ports({
      streams: [() => stream([event(job("queued", 0, "pending"), '"a"'), event(job("processing", 40), '"b"'), event(job("final_ready", 100, "completed"), '"c"')])],
    });
    const follower = new JobFollower("j1", p);
    const seen = record(follower);
    const end = await follower.run();
    expect(end.kind).toBe("done");
    expect(end.job?.status).toBe("final_ready");
    expect(seen.map((s) => s.kind)).toEqual(["connecting", "connecting", "streaming", "streaming", "streaming", "done"]);
    expect(seen.filter((s) => s.kind === "streaming").map((s) => s.job?.progress)).toEqual([undefined, 0, 40]);
    expect(calls.polls).toEqual([]);
  });

  it("falls back to polling with the last ETag when the stream drops, then finishes", async () => {
    const { p, calls } = ports({
      streams: [() => stream([event(job("processing", 10), '"e1"', "7")], new TypeError("network error"))],
      polls: [() => null, () => ({ job: job("processing", 60), etag: '"e2"' }), () => ({ job: job("failed", 60, "error"), etag: '"e3"' })],
    });
    const follower = new JobFollower("j1", p, { pollsBeforeReconnect: 10 });
    const seen = record(follower);
    const end = await follower.run();
    expect(end).toMatchObject({ kind: "done", job: { status: "failed" } });
    // The first poll asks with the ETag the stream's last event carried; later ones the newest.
    expect(calls.polls).toEqual(['"e1"', '"e1"', '"e2"']);
    expect(seen.some((s) => s.kind === "polling" && s.job?.progress === 60)).toBe(true);
  });

  it("goes back to the stream after a number of polls, resuming after the last event id", async () => {
    const { p, calls } = ports({
      streams: [
        () => stream([event(job("processing", 20), '"s1"')]),
        () => stream([event(job("final_ready", 100, "completed"), '"s3"')]),
      ],
      polls: [() => null, () => null],
    });
    const follower = new JobFollower("j1", p, { pollsBeforeReconnect: 2 });
    const end = await follower.run();
    expect(end.kind).toBe("done");
    expect(calls.streams).toEqual([null, '"s1"']);
    expect(calls.polls.length).toBe(2);
    expect(calls.sleeps).toBe(2);
  });

  it("fails with the problem when the job is not the caller's or is gone", async () => {
    const { p, calls } = ports({ streams: [() => problem(404, "Job not found")] });
    const follower = new JobFollower("j1", p);
    const end = await follower.run();
    expect(end.kind).toBe("failed");
    if (end.kind === "failed") expect(end.problem.title).toBe("Job not found");
    expect(calls.polls).toEqual([]);
  });

  it("keeps polling through server errors and says it is having trouble", async () => {
    const { p } = ports({
      streams: [() => problem(503, "Busy")],
      polls: [() => problem(503, "Busy"), () => new TypeError("Failed to fetch"), () => ({ job: job("cancelled", 30), etag: '"x"' })],
    });
    const follower = new JobFollower("j1", p, { pollsBeforeReconnect: 5 });
    const seen = record(follower);
    const end = await follower.run();
    expect(end).toMatchObject({ kind: "done", job: { status: "cancelled" } });
    const troubles = seen.filter((s) => s.kind === "polling" && s.trouble).map((s) => (s.kind === "polling" ? s.trouble?.title : ""));
    expect(troubles).toEqual(["Busy", "Can't reach Storyloom"]);
  });

  it("a 401 while polling ends following (the session is gone)", async () => {
    const { p } = ports({ streams: [() => new TypeError("reset")], polls: [() => problem(401, "Sign in")] });
    const end = await new JobFollower("j1", p).run();
    expect(end).toMatchObject({ kind: "failed", problem: { status: 401 } });
  });

  it("update() with a cancelled job (the cancel answer) ends it at once", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { p } = ports({
      streams: [
        () =>
          (async function* () {
            yield event(job("processing", 50), '"p"');
            await gate;
          })(),
      ],
    });
    const follower = new JobFollower("j1", p);
    const running = follower.run();
    await new Promise((r) => setTimeout(r, 0));
    expect(follower.state).toMatchObject({ kind: "streaming", job: { progress: 50 } });
    follower.update(job("cancelled", 50));
    release();
    const end = await running;
    expect(end).toMatchObject({ kind: "done", job: { status: "cancelled" } });
  });
});
