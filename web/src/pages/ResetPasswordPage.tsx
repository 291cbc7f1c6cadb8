/** `/reset-password?token=`: the link from the reset mail sets a new password. */

import { useState } from "preact/hooks";
import { api, problemOf, tokens, unwrap } from "../api/client";
import { fieldErrors, type Problem } from "../api/problem";
import type { PageProps } from "../app/App";
import { Link, navigate } from "../app/router";
import { ProblemMessage } from "../components/Status";

export function ResetPasswordPage({ query }: PageProps) {
  const token = query.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const error = fieldErrors(problem, "/password").concat(fieldErrors(problem, "/body/password")).join(" ");

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(api.POST("/v1/auth/password-reset/confirm", { body: { token, password } }));
      // Every session of the account has ended: this device's too.
      tokens.signOut();
      navigate("/login?reset=1", true);
    } catch (e) {
      setProblem(problemOf(e));
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <h1>Choose a new password</h1>
      <form class="stack" onSubmit={submit} noValidate>
        <label>
          New password
          <input
            name="password"
            type="password"
            autocomplete="new-password"
            required
            value={password}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "password-error" : undefined}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          {error ? (
            <small id="password-error" class="field-error">
              {error}
            </small>
          ) : null}
        </label>
        {problem ? (
          <ProblemMessage problem={problem}>
            <p>
              A used or old link does not work: <Link href="/forgot-password">ask for a new one</Link>.
            </p>
          </ProblemMessage>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Set new password"}
        </button>
      </form>
    </section>
  );
}
