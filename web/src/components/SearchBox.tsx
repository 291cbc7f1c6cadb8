/** The search field in the header: typos are fine, the API's search forgives them. */

import { useState } from "preact/hooks";
import { navigate } from "../app/router";

export function SearchBox({ initial = "" }: { initial?: string }) {
  const [q, setQ] = useState(initial);
  return (
    <form
      role="search"
      class="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (q.trim()) navigate(`/search?q=${encodeURIComponent(q.trim())}`);
      }}
    >
      <label class="visually-hidden" for="search-q">
        Search scenes, ideas and people
      </label>
      <input id="search-q" type="search" name="q" placeholder="Search stories…" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
      <button type="submit">Search</button>
    </form>
  );
}
