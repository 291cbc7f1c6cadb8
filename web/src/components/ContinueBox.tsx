/** "Continue this scene": one Idempotency-Key per text, so a double click or a retry makes one job. */

import { useEffect, useRef, useState } from "preact/hooks";
import { api, problemOf, unwrap } from "../api/client";
import { fieldErrors, type Problem } from "../api/problem";
import { Link } from "../app/router";
import { useSession } from "../auth/useSession";
import type { Job } from "../jobs/follow";
import { useJobFollower } from "../jobs/useJobFollower";
import { JobProgress } from "./JobProgress";
import { ProblemMessage } from "./Status";

/** A random key; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Props {
  sceneId: string;
  locked: boolean;
  onFinalReady: (job: Job) => void;
}

export function ContinueBox({ sceneId, locked, onFinalReady }: Props) {
  const { status } = useSession();
  const [text, setText] = useState("");
  const [sent, setSent] = useState<{ job: Job; text: string } | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  // The key belongs to the text it was made for: the same text again (a retry) reuses it.
  const key = useRef<{ key: string; text: string } | null>(null);
  const { state, follower } = useJobFollower(sent?.job.id ?? null, sent?.job ?? null);
  const reported = useRef<string | null>(null);

  useEffect(() => {
    if (state?.kind === "done" && state.job.status === "final_ready" && reported.current !== state.job.id) {
      reported.current = state.job.id;
      onFinalReady(state.job);
    }
  }, [state]);

  if (status !== "signedIn") {
    return (
      <p>
        <Link href={`/login?next=${encodeURIComponent(location.pathname)}`}>Sign in</Link> to continue this scene.
      </p>
    );
  }
  if (locked) return <p class="empty">This scene is locked: it takes no more continuations.</p>;

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    const body = text.trim();
    if (!key.current || key.current.text !== body) key.current = { key: newKey(), text: body };
    setBusy(true);
    setProblem(null);
    try {
      const job = await unwrap(
        api.POST("/v1/scenes/{scene_id}/continuations", {
          params: { path: { scene_id: sceneId }, header: { "Idempotency-Key": key.current.key } },
          body: { text: body },
        }),
      );
      setSent({ job, text: body });
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  function again() {
    const failed = state?.job?.status === "failed";
    setSent(null);
    key.current = null;
    if (!failed) setText("");
  }

  if (sent && state) {
    return (
      <div class="stack">
        <JobProgress state={state} follower={follower} text={sent.text} />
        {state.kind === "done" || state.kind === "failed" ? (
          <button type="button" onClick={again}>
            {state.job?.status === "failed" ? "Edit and try again" : "Write another continuation"}
          </button>
        ) : null}
      </div>
    );
  }

  const errors = fieldErrors(problem, "/text").concat(fieldErrors(problem, "/body/text"));
  return (
    <form class="stack" onSubmit={submit}>
      <label>
        What happens next?
        <textarea
          name="text"
          rows={5}
          required
          minLength={1}
          value={text}
          aria-invalid={errors.length > 0}
          aria-describedby="continue-hint"
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <small id="continue-hint">
          Write a few sentences; name characters as the bible does. It becomes the next video segment.
        </small>
      </label>
      {problem ? <ProblemMessage problem={problem} /> : null}
      <button type="submit" disabled={busy || !text.trim()}>
        {busy ? "Sending…" : "Continue the scene"}
      </button>
    </form>
  );
}
