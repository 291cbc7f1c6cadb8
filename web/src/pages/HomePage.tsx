/** Discover: trending, new and active scenes, topics, and search. */

import { api, unwrap, type Schemas } from "../api/client";
import { useLoaded, type Loaded } from "../components/useLoaded";
import type { PageProps } from "../app/App";
import { SceneCard } from "../components/SceneCard";
import { Empty, Loading, ProblemMessage } from "../components/Status";

type Sort = "trending" | "new" | "active";
type Scene = Schemas["SceneOut"];

const SECTIONS: [Sort, string, string][] = [
  ["trending", "Trending", "No scene is trending right now."],
  ["new", "New", "No scenes yet. Create one from an idea."],
  ["active", "Recently continued", "No scene has been continued yet."],
];

function SceneSection({ title, empty, state }: { title: string; empty: string; state: Loaded<Scene[]> }) {
  return (
    <section aria-labelledby={`h-${title}`}>
      <h2 id={`h-${title}`}>{title}</h2>
      {state.problem ? (
        <ProblemMessage problem={state.problem} />
      ) : state.data === null ? (
        <Loading what={`${title.toLowerCase()} scenes`} />
      ) : state.data.length === 0 ? (
        <Empty>{empty}</Empty>
      ) : (
        <ul class="cards">
          {state.data.map((scene) => (
            <SceneCard key={scene.id} scene={scene} />
          ))}
        </ul>
      )}
    </section>
  );
}

function useScenes(sort: Sort, topic: string | null) {
  return useLoaded(
    () =>
      unwrap(api.GET("/v1/scenes", { params: { query: { sort, limit: 12, topic: topic ?? undefined } } })).then(
        (page) => page.items,
      ),
    [sort, topic],
  );
}

export function HomePage({ query }: PageProps) {
  const topic = query.get("topic");
  const trending = useScenes("trending", topic);
  const fresh = useScenes("new", topic);
  const active = useScenes("active", topic);
  const states = { trending, new: fresh, active };
  return (
    <>
      <h1 class="visually-hidden">Discover scenes</h1>
      {SECTIONS.map(([sort, title, empty]) => (
        <SceneSection key={sort} title={title} empty={empty} state={states[sort]} />
      ))}
    </>
  );
}
