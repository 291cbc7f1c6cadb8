/** Create an account, then sign straight in. */

import { useState } from "preact/hooks";
import { api, problemOf, tokens, unwrap } from "../api/client";
import { fieldErrors, type Problem } from "../api/problem";
import { Link, navigate } from "../app/router";
import { loadMe } from "../auth/useSession";
import { ProblemMessage } from "../components/Status";

function Field(props: {
  label: string;
  name: "email" | "username" | "password";
  type?: string;
  autocomplete: string;
  value: string;
  set: (v: string) => void;
  problem: Problem | null;
  hint?: string;
}) {
  const errors = fieldErrors(props.problem, `/${props.name}`).concat(
    fieldErrors(props.problem, `/body/${props.name}`),
  );
  const describedBy = errors.length ? `${props.name}-error` : props.hint ? `${props.name}-hint` : undefined;
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={props.type ?? "text"}
        autocomplete={props.autocomplete}
        required
        value={props.value}
        aria-invalid={errors.length > 0}
        aria-describedby={describedBy}
        onInput={(e) => props.set(e.currentTarget.value)}
      />
      {props.hint && !errors.length ? (
        <small id={`${props.name}-hint`}>{props.hint}</small>
      ) : null}
      {errors.length ? (
        <small id={`${props.name}-error`} class="field-error">
          {errors.join(" ")}
        </small>
      ) : null}
    </label>
  );
}

export function RegisterPage() {
  const [email, setEmail] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(api.POST("/v1/auth/register", { body: { email, username, password } }));
      tokens.signIn(await unwrap(api.POST("/v1/auth/login", { body: { login: username, password } })));
      await loadMe();
      navigate("/", true);
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <h1>Create an account</h1>
      <form onSubmit={submit} class="stack" noValidate>
        <Field label="Email" name="email" type="email" autocomplete="email" value={email} set={setEmail} problem={problem} />
        <Field label="Username" name="username" autocomplete="username" value={username} set={setUsername} problem={problem} hint="Letters, digits, - and _; shown on what you write." />
        <Field label="Password" name="password" type="password" autocomplete="new-password" value={password} set={setPassword} problem={problem} hint="At least 8 characters." />
        {problem ? <ProblemMessage problem={problem} /> : null}
        <button type="submit" disabled={busy}>
          {busy ? "Creating your account…" : "Create account"}
        </button>
      </form>
      <p>
        Already have one? <Link href="/login">Sign in</Link>.
      </p>
    </section>
  );
}
