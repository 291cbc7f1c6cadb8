/**
 * Follows one job to its end: the SSE stream first, polling with If-None-Match when it drops,
 * back to the stream after a while. No DOM: a page renders `state`, tests drive it with fakes.
 */

import { ApiError, networkProblem, type Problem } from "../api/problem";

export interface FollowedJob {
  id: string;
  status: string;
  stage: string;
  progress: number;
  message?: string | null;
}

export const TERMINAL_STATUSES = new Set(["final_ready", "failed", "cancelled"]);

/** connecting/streaming/polling: following; done: the job reached a terminal status; failed: we cannot follow it. */
export type FollowState<J> =
  | { kind: "connecting"; job: J | null }
  | { kind: "streaming"; job: J | null }
  | { kind: "polling"; job: J | null; trouble?: Problem }
  | { kind: "done"; job: J }
  | { kind: "failed"; job: J | null; problem: Problem };

export interface StreamEvent {
  id: string | null;
  data: string;
}

export interface FollowerPorts<J> {
  /** Opens the event stream (resuming after lastEventId); rejects with ApiError on a 4xx. */
  openStream(jobId: string, lastEventId: string | null, signal: AbortSignal): Promise<AsyncIterable<StreamEvent>>;
  /** One poll; null when the server answered 304 (nothing changed since etag). */
  poll(jobId: string, etag: string | null, signal: AbortSignal): Promise<{ job: J; etag: string | null } | null>;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface FollowerOptions {
  pollIntervalMs: number;
  /** Polls before trying the stream again. */
  pollsBeforeReconnect: number;
}

const DEFAULTS: FollowerOptions = { pollIntervalMs: 1000, pollsBeforeReconnect: 5 };

/** A problem the follower cannot outwait: the job is gone, not ours, or our session is. */
function fatal(error: unknown): Problem | null {
  if (error instanceof ApiError && error.problem.status >= 400 && error.problem.status < 500 && error.problem.status !== 429) {
    return error.problem;
  }
  return null;
}

export class JobFollower<J extends FollowedJob = FollowedJob> {
  state: FollowState<J>;
  private readonly listeners = new Set<(state: FollowState<J>) => void>();
  private readonly abort = new AbortController();
  private readonly options: FollowerOptions;
  private lastEventId: string | null = null;
  private etag: string | null = null;

  constructor(
    readonly jobId: string,
    private readonly ports: FollowerPorts<J>,
    options: Partial<FollowerOptions> = {},
    initial: J | null = null,
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.state = { kind: "connecting", job: initial };
  }

  subscribe(listener: (state: FollowState<J>) => void): () => void {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  /** Runs until the job ends, following fails, or stop(); resolves with the final state. */
  async run(): Promise<FollowState<J>> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      if (await this.stream(signal)) break;
      if (signal.aborted) break;
      if (await this.pollForAWhile(signal)) break;
    }
    return this.state;
  }

  stop(): void {
    this.abort.abort();
  }

  /** Replaces the job (e.g. the answer of a cancel) and ends when it is terminal. */
  update(job: J): void {
    this.accept(job, this.state.kind === "polling" ? "polling" : "streaming");
    if (this.state.kind === "done") this.abort.abort();
  }

  private get job(): J | null {
    return this.state.job;
  }

  private set(state: FollowState<J>): void {
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }

  /** true when following is over (done or failed). */
  private accept(job: J, kind: "streaming" | "polling"): boolean {
    if (TERMINAL_STATUSES.has(job.status)) {
      this.set({ kind: "done", job });
      return true;
    }
    this.set({ kind, job });
    return false;
  }

  private async stream(signal: AbortSignal): Promise<boolean> {
    this.set({ kind: "connecting", job: this.job });
    try {
      const events = await this.ports.openStream(this.jobId, this.lastEventId, signal);
      this.set({ kind: "streaming", job: this.job });
      for await (const event of events) {
        if (signal.aborted) return true;
        const job = JSON.parse(event.data) as J & { etag?: string };
        // The event's id is its place in the job's log (for Last-Event-ID); the job's ETag
        // (for polling with If-None-Match) travels in its data.
        if (event.id) this.lastEventId = event.id;
        if (job.etag) this.etag = job.etag;
        if (this.accept(job, "streaming")) return true;
      }
    } catch (error) {
      if (signal.aborted) return true;
      const problem = fatal(error);
      if (problem) {
        this.set({ kind: "failed", job: this.job, problem });
        return true;
      }
    }
    return false;
  }

  private async pollForAWhile(signal: AbortSignal): Promise<boolean> {
    this.set({ kind: "polling", job: this.job });
    for (let i = 0; i < this.options.pollsBeforeReconnect && !signal.aborted; i++) {
      try {
        const answer = await this.ports.poll(this.jobId, this.etag, signal);
        if (answer) {
          this.etag = answer.etag ?? this.etag;
          if (this.accept(answer.job, "polling")) return true;
        } else if (this.state.kind === "polling" && this.state.trouble) {
          this.set({ kind: "polling", job: this.job });
        }
      } catch (error) {
        if (signal.aborted) return true;
        const problem = fatal(error);
        if (problem) {
          this.set({ kind: "failed", job: this.job, problem });
          return true;
        }
        // Offline or a 5xx: keep polling, and let the page say we are trying.
        this.set({ kind: "polling", job: this.job, trouble: error instanceof ApiError ? error.problem : networkProblem(error) });
      }
      await this.ports.sleep(this.options.pollIntervalMs, signal);
    }
    return false;
  }
}
