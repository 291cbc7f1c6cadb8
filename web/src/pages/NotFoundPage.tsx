/** A path the app does not know. */

import { Link } from "../app/router";

export function NotFoundPage() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link href="/">Go to Discover</Link>.
      </p>
    </section>
  );
}
