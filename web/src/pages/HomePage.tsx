/** Discover: trending, new and active scenes, topics, and search. */

import { useEffect, useState } from "preact/hooks";
import { api, problemOf, unwrap, type Schemas } from "../api/client";
import type { Problem } from "../api/problem";
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

export interface Loaded<T> {
  data: T | null;
  problem: Problem | null;
}

/** Runs one request and keeps its result or problem; every hook on a page starts at once. */
export function useLoaded<T>(load: () => Promise<T>, deps: unknown[] = []): Loaded<T> & { reload: () => void } {
  const [state, setState] = useState<Loaded<T>>({ data: null, problem: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data, problem: null }),
      (error) => live && setState({ data: null, problem: problemOf(error) }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
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
