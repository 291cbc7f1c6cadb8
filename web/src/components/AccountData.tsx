/** The account page's email verification, data download and account deletion. */

import { useState } from "preact/hooks";
import { api, problemOf, tokens, unwrap } from "../api/client";
import type { Problem } from "../api/problem";
import { navigate } from "../app/router";
import type { Me } from "../auth/useSession";
import { ProblemMessage } from "./Status";

export function VerifyEmail({ me }: { me: Me }) {
  const [sent, setSent] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  if (me.email_verified) return <p class="meta">Your email address is verified.</p>;
  async function send() {
    setBusy(true);
    setProblem(null);
    try {
      setSent((await unwrap(api.POST("/v1/auth/verify-email"))).detail);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="stack">
      <p>Your email address is not verified yet.</p>
      {sent ? (
        <p role="status" class="ok">
          {sent}
        </p>
      ) : (
        <button type="button" class="secondary" disabled={busy} onClick={() => void send()}>
          Verify your email
        </button>
      )}
      {problem ? <ProblemMessage problem={problem} /> : null}
    </div>
  );
}

export function DownloadMyData() {
  const [problem, setProblem] = useState<Problem | null>(null);
  async function download() {
    setProblem(null);
    try {
      const data = await unwrap(api.GET("/v1/users/me/export"));
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = "storyloom-my-data.json";
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setProblem(problemOf(error));
    }
  }
  return (
    <>
      <p>Everything Storyloom holds about you, as one JSON file.</p>
      <button type="button" class="secondary" onClick={() => void download()}>
        Download my data
      </button>
      {problem ? <ProblemMessage problem={problem} /> : null}
    </>
  );
}

export function DeleteAccount({ username }: { username: string }) {
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  async function erase(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(api.DELETE("/v1/users/me"));
      tokens.signOut(); // the server ended every session already
      navigate("/?deleted=1", true);
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(false);
    }
  }
  return (
    <>
      <p>
        Erases your personal data and ends every session. Your contributions stay in their scenes, without your name.
      </p>
      {confirming ? (
        <form class="stack" onSubmit={erase} aria-label="Confirm deleting your account">
          <label>
            Type your username ({username}) to confirm
            <input name="confirm" autocomplete="off" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
          </label>
          {problem ? <ProblemMessage problem={problem} /> : null}
          <div class="row">
            <button type="submit" class="danger" disabled={busy || typed !== username}>
              Delete my account for good
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Keep my account
            </button>
          </div>
        </form>
      ) : (
        <button type="button" class="secondary" onClick={() => setConfirming(true)}>
          Delete my account…
        </button>
      )}
    </>
  );
}
