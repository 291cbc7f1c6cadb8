/** Search results: scenes, ideas and people, with the matching words highlighted. */

import { api, unwrap, type Schemas } from "../api/client";
import type { PageProps } from "../app/App";
import { Link } from "../app/router";
import { formatDuration, plural } from "../components/format";
import { SearchBox } from "../components/SearchBox";
import { Empty, Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";

type Hit = Schemas["SceneHitOut"] | Schemas["IdeaHitOut"] | Schemas["UserHitOut"];

/** The snippet with its highlighted words marked (the text is rendered as text, never HTML). */
function Snippet({ snippet }: { snippet: Schemas["SnippetOut"] | null | undefined }) {
  if (!snippet) return null;
  const words = snippet.highlights.filter(Boolean);
  if (!words.length) return <p class="snippet">{snippet.text}</p>;
  const pattern = new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "gi");
  return (
    <p class="snippet">
      {snippet.text.split(pattern).map((part, i) => (i % 2 ? <mark key={i}>{part}</mark> : part))}
    </p>
  );
}

function HitItem({ hit }: { hit: Hit }) {
  if (hit.type === "scene") {
    return (
      <li class="hit">
        <span class="tag">Scene</span> <Link href={`/scenes/${hit.id}`}>{hit.title}</Link>
        <span class="meta">
          {" "}
          · {plural(hit.segment_count, "part")} · {formatDuration(hit.total_duration)}
        </span>
        <Snippet snippet={hit.snippet} />
      </li>
    );
  }
  if (hit.type === "idea") {
    return (
      <li class="hit">
        <span class="tag">Idea</span> <Link href={`/ideas/${hit.id}`}>{hit.title}</Link>
        <span class="meta"> · {plural(hit.scene_count, "scene")}</span>
        <Snippet snippet={hit.snippet} />
      </li>
    );
  }
  return (
    <li class="hit">
      <span class="tag">Person</span>{" "}
      <Link href={`/users/${hit.username}`}>{hit.display_name || hit.username}</Link>
      <span class="meta"> @{hit.username}</span>
    </li>
  );
}

type Kind = "scene" | "idea" | "user";
const KINDS: [Kind, string][] = [
  ["scene", "Scenes"],
  ["idea", "Ideas"],
  ["user", "People"],
];

function useHits(q: string, type: Kind) {
  return useLoaded(
    () =>
      q
        ? unwrap(api.GET("/v1/search", { params: { query: { q, type, limit: 20 } } })).then((p) => p.items as Hit[])
        : Promise.resolve([] as Hit[]),
    [q, type],
  );
}

export function SearchPage({ query }: PageProps) {
  const q = query.get("q") ?? "";
  // One request per kind, all at once.
  const results = { scene: useHits(q, "scene"), idea: useHits(q, "idea"), user: useHits(q, "user") };
  const loaded = KINDS.every(([k]) => results[k].data !== null || results[k].problem);
  const total = KINDS.reduce((n, [k]) => n + (results[k].data?.length ?? 0), 0);
  return (
    <section>
      <h1>Search{q ? `: ${q}` : ""}</h1>
      <SearchBox initial={q} />
      {!q ? (
        <Empty>Type a few words: titles, characters, places, people.</Empty>
      ) : !loaded ? (
        <Loading what="results" />
      ) : total === 0 && KINDS.every(([k]) => !results[k].problem) ? (
        <Empty>Nothing matches “{q}”. Try other words.</Empty>
      ) : (
        KINDS.map(([kind, title]) => {
          const r = results[kind];
          if (r.problem) return <ProblemMessage key={kind} problem={r.problem} />;
          if (!r.data?.length) return null;
          return (
            <section key={kind} aria-labelledby={`hits-${kind}`}>
              <h2 id={`hits-${kind}`}>{title}</h2>
              <ul class="hits">
                {r.data.map((hit) => (
                  <HitItem key={`${hit.type}-${hit.id}`} hit={hit} />
                ))}
              </ul>
            </section>
          );
        })
      )}
    </section>
  );
}
