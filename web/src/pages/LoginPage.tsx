/** Sign in with email or username and password. */

import { useState } from "preact/hooks";
import { api, problemOf, tokens, unwrap } from "../api/client";
import type { Problem } from "../api/problem";
import { Link, navigate } from "../app/router";
import type { PageProps } from "../app/App";
import { loadMe } from "../auth/useSession";
import { ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";

/** The configured OpenID providers: a button each (none configured, none shown). */
function ProviderButtons() {
  const providers = useLoaded(() => unwrap(api.GET("/v1/auth/oidc/providers")), []);
  const names = providers.data?.providers ?? [];
  if (!names.length) return null;
  return (
    <div class="stack">
      <h2>Or sign in with</h2>
      {names.map((name) => (
        // A full page load: the API redirects the browser to the provider.
        <a key={name} class="button secondary" href={`/v1/auth/oidc/${encodeURIComponent(name)}/login`}>
          Sign in with {name}
        </a>
      ))}
    </div>
  );
}

/** Only same-site paths: a crafted ?next= must not send a person elsewhere. */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function LoginPage({ query }: PageProps) {
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const pair = await unwrap(api.POST("/v1/auth/login", { body: { login, password } }));
      tokens.signIn(pair);
      await loadMe();
      navigate(safeNext(query.get("next")), true);
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <h1>Sign in</h1>
      {query.get("reset") ? (
        <p role="status" class="ok">
          Your password is changed: sign in with the new one.
        </p>
      ) : null}
      <form onSubmit={submit} class="stack">
        <label>
          Email or username
          <input
            name="login"
            autocomplete="username"
            required
            value={login}
            onInput={(e) => setLogin(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {problem ? <ProblemMessage problem={problem} /> : null}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p>
        <Link href="/forgot-password">Forgot your password?</Link>
      </p>
      <ProviderButtons />
      <p>
        New here? <Link href="/register">Create an account</Link>.
      </p>
    </section>
  );
}
