/** `/verify-email?token=`: the link from the verification mail confirms the address. */

import { useEffect, useState } from "preact/hooks";
import { api, problemOf, unwrap } from "../api/client";
import type { Problem } from "../api/problem";
import type { PageProps } from "../app/App";
import { Link } from "../app/router";
import { loadMe } from "../auth/useSession";
import { Loading, ProblemMessage } from "../components/Status";

export function VerifyEmailPage({ query }: PageProps) {
  const token = query.get("token") ?? "";
  const [state, setState] = useState<"working" | "done" | Problem>("working");
  useEffect(() => {
    unwrap(api.POST("/v1/auth/verify-email/confirm", { body: { token } })).then(
      () => {
        setState("done");
        void loadMe().catch(() => undefined); // a signed-in person's badge updates; others need nothing
      },
      (error) => setState(problemOf(error)),
    );
  }, [token]);
  return (
    <section class="narrow">
      <h1>Verify your email</h1>
      {state === "working" ? (
        <Loading what="the confirmation" />
      ) : state === "done" ? (
        <p role="status" class="ok">
          Your email address is verified. <Link href="/">Go to Discover</Link>.
        </p>
      ) : (
        <ProblemMessage problem={state}>
          <p>
            The link may have been used already or be too old: ask for a new one on <Link href="/account">your account</Link>.
          </p>
        </ProblemMessage>
      )}
    </section>
  );
}
