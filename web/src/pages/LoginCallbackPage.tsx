/** `/login/callback#code=`: back from an OpenID provider, the one-time code becomes a session. */

import { useEffect, useState } from "preact/hooks";
import { api, problemOf, tokens, unwrap } from "../api/client";
import type { Problem } from "../api/problem";
import { Link, navigate } from "../app/router";
import { loadMe } from "../auth/useSession";
import { Loading, ProblemMessage } from "../components/Status";

export function LoginCallbackPage() {
  const [problem, setProblem] = useState<Problem | null>(null);
  useEffect(() => {
    // The code rides in the fragment (never sent to a server); take it out of the address at once.
    const code = new URLSearchParams(location.hash.slice(1)).get("code") ?? "";
    history.replaceState(history.state, "", location.pathname);
    unwrap(api.POST("/v1/auth/oidc/exchange", { body: { code } }))
      .then(async (pair) => {
        tokens.signIn(pair);
        await loadMe();
        navigate("/", true);
      })
      .catch((error) => setProblem(problemOf(error)));
  }, []);
  return (
    <section class="narrow">
      <h1>Signing you in</h1>
      {problem ? (
        <ProblemMessage problem={problem}>
          <p>
            <Link href="/login">Try signing in again</Link>.
          </p>
        </ProblemMessage>
      ) : (
        <Loading what="your session" />
      )}
    </section>
  );
}
