/** A followed job as a person sees it: stage, progress, message, cancel, the reason it failed. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap } from "../api/client";
import type { Problem } from "../api/problem";
import type { Job } from "../jobs/follow";
import type { FollowState, JobFollower } from "../jobs/jobFollower";
import { FAILURE_WORDS, STAGE_WORDS, STATUS_WORDS, markText, quotedNames, textSpans, violationsOf } from "../jobs/words";
import { ProblemMessage, fieldLabel } from "./Status";

const CONNECTION_WORDS = {
  connecting: "Connecting for live updates…",
  streaming: "Live",
  polling: "Checking every second (live updates dropped)",
} as const;

interface Props {
  state: FollowState<Job>;
  follower: JobFollower<Job> | null;
  /** The text the writer sent, to point at the names that broke the bible. */
  text?: string;
}

export function JobProgress({ state, follower, text }: Props) {
  const [cancelProblem, setCancelProblem] = useState<Problem | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const job = state.job;

  if (state.kind === "failed") {
    return <ProblemMessage problem={state.problem} />;
  }
  if (!job) {
    return (
      <p class="loading" role="status">
        {CONNECTION_WORDS[state.kind === "done" ? "streaming" : state.kind]}
      </p>
    );
  }

  async function cancel() {
    setCancelling(true);
    setCancelProblem(null);
    try {
      const answer = await unwrap(api.POST("/v1/jobs/{job_id}/cancel", { params: { path: { job_id: job!.id } } }));
      follower?.update(answer);
    } catch (error) {
      setCancelProblem(problemOf(error));
    } finally {
      setCancelling(false);
    }
  }

  const terminal = state.kind === "done";
  const violations = violationsOf(job.result_data as Record<string, unknown> | null);
  const names = quotedNames(violations);
  const spans = text ? textSpans(text, violations) : [];
  return (
    <div class={`job job-${job.status}`}>
      <div class="job-head">
        <strong role="status" aria-live="polite">
          {STATUS_WORDS[job.status] ?? job.status}
        </strong>
        {!terminal ? <span class="meta">{CONNECTION_WORDS[state.kind]}</span> : null}
      </div>
      <progress max={100} value={job.progress} aria-label="Progress">
        {job.progress}%
      </progress>
      <p class="meta">
        {STAGE_WORDS[job.stage] ?? job.stage} · {job.progress}%{job.message && !terminal ? ` · ${job.message}` : ""}
      </p>
      {state.kind === "polling" && state.trouble ? <ProblemMessage problem={state.trouble} /> : null}
      {job.status === "failed" ? (
        <div class="problem" role="alert">
          <strong>{FAILURE_WORDS[job.error_code ?? "internal_error"] ?? "The job failed."}</strong>
          {job.error_message ? <p>{job.error_message}</p> : null}
          {violations.length ? (
            <ul class="violations">
              {violations.map((v) => (
                <li key={v.pointer + v.message}>
                  {v.message} <span class="meta">({fieldLabel(v.pointer)})</span>
                </li>
              ))}
            </ul>
          ) : null}
          {text && (names.length || spans.length) ? (
            <blockquote class="marked-text" aria-label="Your text, with the words that broke the story marked">
              {markText(text, names, spans).map((part, i) => (part.marked ? <mark key={i}>{part.text}</mark> : part.text))}
            </blockquote>
          ) : null}
          {job.retryable ? <p>This can work if you try again in a moment.</p> : null}
        </div>
      ) : null}
      {job.status === "cancelled" ? <p>This continuation was cancelled; nothing was added to the scene.</p> : null}
      {!terminal ? (
        <button type="button" class="secondary" onClick={cancel} disabled={cancelling || job.cancel_requested}>
          {job.cancel_requested ? "Cancelling…" : "Cancel"}
        </button>
      ) : null}
      {cancelProblem ? <ProblemMessage problem={cancelProblem} /> : null}
    </div>
  );
}
