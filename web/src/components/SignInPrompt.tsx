/** What a signed-out person sees on a page that needs an account. */

import { Link } from "../app/router";

export function SignInPrompt({ to }: { to: string }) {
  return (
    <p class="banner-inline">
      <Link href={`/login?next=${encodeURIComponent(location.pathname + location.search)}`}>Sign in</Link> to {to}.
      No account? <Link href="/register">Create one</Link>.
    </p>
  );
}
