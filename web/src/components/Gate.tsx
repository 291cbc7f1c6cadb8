/** Pages for signed-in people or one role: a sign-in prompt or a "not allowed" note, never a broken page. */

import type { ComponentChildren } from "preact";
import { Link } from "../app/router";
import { useSession, type Me } from "../auth/useSession";
import { Loading } from "./Status";

const RANK: Record<string, number> = { user: 0, moderator: 1, admin: 2 };

interface Props {
  /** The page's heading, shown above the prompt too. */
  title: string;
  role?: "moderator" | "admin";
  /** What the page is for, in the sign-in prompt: "to create an idea". */
  purpose: string;
  children: (me: Me) => ComponentChildren;
}

export function Gate({ title, role, purpose, children }: Props) {
  const { status, me } = useSession();
  if (status !== "signedIn") {
    return (
      <section class="narrow">
        <h1>{title}</h1>
        <p>
          Please{" "}
          <Link href={`/login?next=${encodeURIComponent(location.pathname)}`}>sign in</Link> {purpose}.
        </p>
      </section>
    );
  }
  if (!me) return <Loading what="your account" />;
  if (role && (RANK[me.role] ?? 0) < RANK[role]) {
    return (
      <section class="narrow">
        <h1>{title}</h1>
        <div class="problem" role="alert">
          <strong>Not allowed</strong>
          <p>
            This page is for {role === "admin" ? "administrators" : "moderators"}. You are signed in as {me.username}.
          </p>
        </div>
        <p>
          <Link href="/">Back to Discover</Link>
        </p>
      </section>
    );
  }
  return <>{children(me)}</>;
}
