/** `/forgot-password`: ask for a mail with a password reset link. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap } from "../api/client";
import type { Problem } from "../api/problem";
import { Link } from "../app/router";
import { ProblemMessage } from "../components/Status";

export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const answer = await unwrap(api.POST("/v1/auth/password-reset", { body: { email: email.trim() } }));
      setSent(answer.detail);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <h1>Reset your password</h1>
      {sent ? (
        <p role="status" class="ok">
          {sent} Follow the link in it to choose a new password.
        </p>
      ) : (
        <form class="stack" onSubmit={submit}>
          <label>
            Email
            <input
              name="email"
              type="email"
              autocomplete="email"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </label>
          {problem ? <ProblemMessage problem={problem} /> : null}
          <button type="submit" disabled={busy}>
            {busy ? "Sending…" : "Send me a reset link"}
          </button>
        </form>
      )}
      <p>
        Remembered it? <Link href="/login">Sign in</Link>.
      </p>
    </section>
  );
}
