/** Topics (and the chosen topic's categories) as links that filter the Discover page. */

import { api, unwrap } from "../api/client";
import { allTopics } from "../api/topics";
import { Link } from "../app/router";
import { useLoaded } from "./useLoaded";
import { ProblemMessage } from "./Status";

function href(topic: string | null, category: string | null = null): string {
  const q = new URLSearchParams();
  if (topic) q.set("topic", topic);
  if (category) q.set("category", category);
  const s = q.toString();
  return s ? `/?${s}` : "/";
}

export function TopicNav({ topic, category }: { topic: string | null; category: string | null }) {
  const topics = useLoaded(allTopics, []);
  const detail = useLoaded(
    () => (topic ? unwrap(api.GET("/v1/topics/{topic}", { params: { path: { topic } } })) : Promise.resolve(null)),
    [topic],
  );
  if (topics.problem) return <ProblemMessage problem={topics.problem} />;
  if (!topics.data?.length) return null;
  return (
    <nav aria-label="Topics" class="topics">
      <ul class="chips">
        <li>
          <Link href="/" class="chip" aria-current={!topic ? "page" : undefined}>
            All topics
          </Link>
        </li>
        {topics.data.map((t) => (
          <li key={t.id}>
            <Link href={href(t.slug)} class="chip" aria-current={topic === t.slug ? "page" : undefined}>
              {t.name}
            </Link>
          </li>
        ))}
      </ul>
      {topic && detail.data?.categories.length ? (
        <ul class="chips" aria-label={`Categories of ${detail.data.name}`}>
          {detail.data.categories.map((c) => (
            <li key={c.id}>
              <Link
                href={href(topic, category === c.slug ? null : c.slug)}
                class="chip small"
                aria-current={category === c.slug ? "page" : undefined}
              >
                {c.name}
              </Link>
            </li>
          ))}
        </ul>
      ) : null}
    </nav>
  );
}
