/** Discover: trending, new and active scenes, topics, and search. */

import { api, unwrap, type Schemas } from "../api/client";
import { useLoaded, type Loaded } from "../components/useLoaded";
import type { PageProps } from "../app/App";
import { Link } from "../app/router";
import { SceneCard } from "../components/SceneCard";
import { SearchBox } from "../components/SearchBox";
import { TopicNav } from "../components/TopicNav";
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

function CategoryIdeas({ topic, category }: { topic: string; category: string }) {
  const ideas = useLoaded(
    () => unwrap(api.GET("/v1/ideas", { params: { query: { topic, category, sort: "popular", limit: 20 } } })).then((p) => p.items),
    [topic, category],
  );
  return (
    <section aria-labelledby="h-ideas">
      <h2 id="h-ideas">Ideas in this category</h2>
      {ideas.problem ? (
        <ProblemMessage problem={ideas.problem} />
      ) : ideas.data === null ? (
        <Loading what="ideas" />
      ) : ideas.data.length === 0 ? (
        <Empty>No ideas in this category yet.</Empty>
      ) : (
        <ul class="hits">
          {ideas.data.map((idea) => (
            <li key={idea.id} class="hit">
              <Link href={`/ideas/${idea.id}`}>{idea.title}</Link>
              <p class="snippet">{idea.prompt}</p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function HomePage({ query }: PageProps) {
  const topic = query.get("topic");
  const category = query.get("category");
  // All lists start together on the first render: no request waits for another.
  const trending = useScenes("trending", topic);
  const fresh = useScenes("new", topic);
  const active = useScenes("active", topic);
  const states = { trending, new: fresh, active };
  return (
    <>
      <div class="home-head">
        <h1>Discover</h1>
        <SearchBox />
      </div>
      <TopicNav topic={topic} category={category} />
      {topic && category ? <CategoryIdeas topic={topic} category={category} /> : null}
      {SECTIONS.map(([sort, title, empty]) => (
        <SceneSection key={sort} title={title} empty={empty} state={states[sort]} />
      ))}
    </>
  );
}
