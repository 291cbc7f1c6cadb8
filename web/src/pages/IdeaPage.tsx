/** One idea: its text, the scenes started from it, "Start a scene", Report, and its author's and moderators' tools. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap, type Schemas } from "../api/client";
import type { Problem } from "../api/problem";
import type { PageProps } from "../app/App";
import { Link, navigate } from "../app/router";
import { useSession } from "../auth/useSession";
import { plural, timeAgo } from "../components/format";
import { ReportButton } from "../components/ReportButton";
import { SceneCard } from "../components/SceneCard";
import { Empty, Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";
import "../styles/manage.css";

type Idea = Schemas["IdeaOut"];

/** The author deletes (soft); a moderator brings back an idea its author deleted. */
function IdeaManage({ idea, onChange }: { idea: Idea; onChange: (idea: Idea) => void }) {
  const { me } = useSession();
  const [confirm, setConfirm] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const author = !!me && me.id === idea.user_id;
  const moderator = !!me && me.role !== "user";
  const path = { params: { path: { idea_id: idea.id } } };
  if (!author && !moderator) return null;

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setProblem(null);
    try {
      await action();
    } catch (error) {
      setProblem(problemOf(error));
    }
    setBusy(false);
  }
  const remove = () =>
    run(async () => {
      await unwrap(api.DELETE("/v1/ideas/{idea_id}", path));
      navigate("/", true);
    });
  const restore = () => run(async () => onChange(await unwrap(api.POST("/v1/ideas/{idea_id}/restore", path))));

  return (
    <section aria-labelledby="manage-heading" class="manage">
      <h2 id="manage-heading">Manage this idea</h2>
      {idea.status === "removed" ? (
        <>
          <p>This idea is deleted: nobody else sees it.</p>
          {moderator ? (
            <button type="button" disabled={busy} onClick={() => void restore()}>
              Restore idea
            </button>
          ) : null}
        </>
      ) : confirm ? (
        <div class="stack" role="group" aria-label="Confirm deleting the idea">
          <p>Delete “{idea.title}”? It disappears from every list and search at once; its scenes stay.</p>
          <div class="row">
            <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
              Delete for good
            </button>
            <button type="button" class="secondary" onClick={() => setConfirm(false)}>
              Keep it
            </button>
          </div>
        </div>
      ) : (
        <button type="button" class="secondary" onClick={() => setConfirm(true)}>
          Delete idea…
        </button>
      )}
      {problem ? <ProblemMessage problem={problem} /> : null}
    </section>
  );
}

export function IdeaPage({ params }: PageProps) {
  const ideaId = params.id;
  const path = { idea_id: ideaId };
  // Both requests start on the first render: the scenes do not wait for the idea.
  const idea = useLoaded(() => unwrap(api.GET("/v1/ideas/{idea_id}", { params: { path } })), [ideaId]);
  const scenes = useLoaded(
    () => unwrap(api.GET("/v1/ideas/{idea_id}/scenes", { params: { path, query: { limit: 48 } } })).then((p) => p.items),
    [ideaId],
  );

  if (idea.problem && !idea.data) {
    return (
      <ProblemMessage problem={idea.problem}>
        <p>
          <Link href="/">Back to Discover</Link>
        </p>
      </ProblemMessage>
    );
  }
  const i = idea.data;
  if (!i) return <Loading what="the idea" />;
  return (
    <>
      <h1>{i.title}</h1>
      <p class="meta">
        Idea · {plural(i.scene_count, "scene")} · {plural(i.like_count, "like")} · posted{" "}
        <time dateTime={i.created_at} title={new Date(i.created_at).toLocaleString()}>
          {timeAgo(i.created_at)}
        </time>
        {i.status !== "active" ? ` · ${i.status}` : ""}
        {i.review_status === "pending" ? " · waiting for review" : ""}
      </p>
      <section class="context" aria-label="The idea">
        <blockquote>{i.prompt}</blockquote>
        {i.tags.length ? (
          <p class="row">
            {i.tags.map((tag) => (
              <span key={tag} class="tag">
                {tag}
              </span>
            ))}
          </p>
        ) : null}
      </section>
      <div class="row idea-actions">
        {i.status === "active" ? (
          <Link href={`/ideas/${i.id}/scenes/new`} class="button">
            Start a scene
          </Link>
        ) : null}
        <ReportButton targetType="idea" targetId={i.id} label="Report this idea" />
      </div>
      <IdeaManage idea={i} onChange={idea.set} />
      <section aria-labelledby="scenes-heading">
        <h2 id="scenes-heading">Scenes from this idea</h2>
        {scenes.problem ? (
          <ProblemMessage problem={scenes.problem} />
        ) : scenes.data === null ? (
          <Loading what="the scenes" />
        ) : scenes.data.length === 0 ? (
          <Empty>No scenes from this idea yet: start the first one.</Empty>
        ) : (
          <ul class="cards">
            {scenes.data.map((scene) => (
              <SceneCard key={scene.id} scene={scene} />
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
