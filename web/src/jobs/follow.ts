/** The job follower wired to the real API: the SSE stream through fetch, polls with If-None-Match. */

import { authedFetch, type Schemas } from "../api/client";
import { ApiError, toProblem } from "../api/problem";
import { JobFollower, type FollowerPorts, type StreamEvent } from "./jobFollower";
import { readEvents } from "./sse";

export type Job = Schemas["JobOut"];

async function problemFrom(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: the status alone names the problem
  }
  return new ApiError(toProblem(response.status, body));
}

async function* onlyJobEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  for await (const event of readEvents(body)) {
    if (event.event === "job") yield { id: event.id, data: event.data };
  }
}

export const apiPorts: FollowerPorts<Job> = {
  async openStream(jobId, lastEventId, signal) {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    const response = await authedFetch(`/v1/jobs/${jobId}/events`, { headers, signal });
    if (!response.ok || !response.body) throw await problemFrom(response);
    return onlyJobEvents(response.body);
  },
  async poll(jobId, etag, signal) {
    const headers: Record<string, string> = {};
    if (etag) headers["If-None-Match"] = etag;
    const response = await authedFetch(`/v1/jobs/${jobId}`, { headers, signal, cache: "no-store" });
    if (response.status === 304) return null;
    if (!response.ok) throw await problemFrom(response);
    return { job: (await response.json()) as Job, etag: response.headers.get("ETag") };
  },
  sleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  },
};

/** A follower for one job against the real API. */
export function followJob(jobId: string, initial: Job | null = null): JobFollower<Job> {
  return new JobFollower<Job>(jobId, apiPorts, {}, initial);
}
