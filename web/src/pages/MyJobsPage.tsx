/** "My jobs": the caller's continuations, newest first, with their state. */

import { useState } from "preact/hooks";
import { api, unwrap, type Schemas } from "../api/client";
import { Link } from "../app/router";
import { useSession } from "../auth/useSession";
import { timeAgo } from "../components/format";
import { SignInPrompt } from "../components/SignInPrompt";
import { Empty, Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";
import { STATUS_WORDS } from "../jobs/words";

type Job = Schemas["JobOut"];
type Status = NonNullable<NonNullable<Parameters<typeof listJobs>[0]>>;

function listJobs(status: Job["status"] | null, cursor: string | null = null) {
  return unwrap(api.GET("/v1/users/me/jobs", { params: { query: { status, limit: 20, cursor } } }));
}

const FILTERS: [Status | null, string][] = [
  [null, "All"],
  ["processing", "Being made"],
  ["final_ready", "Ready"],
  ["failed", "Failed"],
  ["cancelled", "Cancelled"],
];

export function MyJobsPage() {
  const { status: auth } = useSession();
  const [status, setStatus] = useState<Status | null>(null);
  const [more, setMore] = useState<{ items: Job[]; cursor: string | null }>({ items: [], cursor: null });
  const jobs = useLoaded(
    () =>
      auth === "signedIn"
        ? listJobs(status).then((page) => {
            setMore({ items: [], cursor: page.next_cursor ?? null });
            return page.items;
          })
        : Promise.resolve([]),
    [status, auth],
  );
  if (auth !== "signedIn") return <SignInPrompt to="see your jobs" />;

  async function loadMore() {
    const page = await listJobs(status, more.cursor);
    setMore({ items: [...more.items, ...page.items], cursor: page.next_cursor ?? null });
  }

  const items = [...(jobs.data ?? []), ...more.items];
  return (
    <section>
      <h1>My jobs</h1>
      <div class="chips" role="group" aria-label="Show">
        {FILTERS.map(([value, label]) => (
          <button key={label} type="button" class="secondary" aria-pressed={status === value} onClick={() => setStatus(value)}>
            {label}
          </button>
        ))}
      </div>
      {jobs.problem ? (
        <ProblemMessage problem={jobs.problem} />
      ) : jobs.data === null ? (
        <Loading what="your jobs" />
      ) : items.length === 0 ? (
        <Empty>
          {status ? "No jobs in this state." : "You have not continued a scene yet. Pick one on "}
          {status ? null : <Link href="/">Discover</Link>}
        </Empty>
      ) : (
        <ul class="hits">
          {items.map((job) => (
            <li key={job.id} class={`hit job-row job-${job.status}`}>
              <Link href={`/jobs/${job.id}`}>{STATUS_WORDS[job.status] ?? job.status}</Link>
              <span class="meta">
                {" "}
                · {job.progress}% · {timeAgo(job.created_at)}
                {job.error_message ? ` · ${job.error_message}` : ""}
              </span>
              <div>
                <Link href={`/scenes/${job.scene_id}`}>Open the scene</Link>
              </div>
            </li>
          ))}
        </ul>
      )}
      {more.cursor ? (
        <button type="button" class="secondary" onClick={() => void loadMore()}>
          Show older jobs
        </button>
      ) : null}
    </section>
  );
}
