/** Deleted scenes and ideas a moderator may still restore, newest deletion first, each with Restore. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap, type Schemas } from "../api/client";
import type { Problem } from "../api/problem";
import { Link } from "../app/router";
import { timeAgo } from "./format";
import { Empty, Loading, ProblemMessage } from "./Status";
import { useLoaded } from "./useLoaded";

type Deleted = Schemas["DeletedOut"];
type Kind = Deleted["type"];

async function restore(item: Deleted): Promise<void> {
  if (item.type === "scene") await unwrap(api.POST("/v1/scenes/{scene_id}/restore", { params: { path: { scene_id: item.id } } }));
  else await unwrap(api.POST("/v1/ideas/{idea_id}/restore", { params: { path: { idea_id: item.id } } }));
}

export function DeletedList({ onRestored }: { onRestored: (message: string) => void }) {
  const [kind, setKind] = useState<Kind>("scene");
  const state = useLoaded(
    () => unwrap(api.GET("/v1/moderation/deleted", { params: { query: { type: kind, limit: 20 } } })).then((p) => p.items),
    [kind],
  );
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  async function bringBack(item: Deleted) {
    setBusy(item.id);
    setProblem(null);
    try {
      await restore(item);
      state.reload();
      onRestored(`Restored the ${item.type} “${item.title}”.`);
    } catch (error) {
      setProblem(problemOf(error));
    }
    setBusy(null);
  }

  return (
    <section aria-labelledby="deleted-heading">
      <h2 id="deleted-heading">Deleted, still restorable</h2>
      <div class="row" role="group" aria-label="Show deleted">
        {(["scene", "idea"] as const).map((value) => (
          <button key={value} type="button" class={kind === value ? "" : "secondary"} aria-pressed={kind === value} onClick={() => setKind(value)}>
            {value === "scene" ? "Scenes" : "Ideas"}
          </button>
        ))}
      </div>
      {problem ? <ProblemMessage problem={problem} /> : null}
      {state.problem ? (
        <ProblemMessage problem={state.problem} />
      ) : !state.data ? (
        <Loading what={`the deleted ${kind}s`} />
      ) : !state.data.length ? (
        <Empty>{`No deleted ${kind}s to restore.`}</Empty>
      ) : (
        <ul class="deleted-list">
          {state.data.map((item) => (
            <li key={item.id} class="row">
              <span>
                {item.type === "scene" ? <Link href={`/scenes/${item.id}`}>{item.title}</Link> : <strong>{item.title}</strong>}{" "}
                <span class="meta">
                  deleted <time dateTime={item.deleted_at}>{timeAgo(item.deleted_at)}</time>, restorable until{" "}
                  <time dateTime={item.restore_until}>{new Date(item.restore_until).toLocaleDateString()}</time>
                </span>
              </span>
              <button type="button" disabled={busy !== null} onClick={() => void bringBack(item)} aria-label={`Restore ${item.title}`}>
                Restore
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
