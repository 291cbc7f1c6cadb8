/** The scene owner's and moderators' tools: edit, lock, archive, delete, cover, restore, withdraw. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap, type Schemas } from "../api/client";
import type { Problem } from "../api/problem";
import { navigate } from "../app/router";
import { useSession, type Me } from "../auth/useSession";
import { ProblemMessage } from "./Status";

type Scene = Schemas["SceneOut"];
type Patch = Partial<Schemas["ScenePatch"]>;

/** The API decides; this only hides tools a person cannot use. */
export function canManage(me: Me | null, scene: { user_id: string }): boolean {
  return !!me && (me.id === scene.user_id || me.role !== "user");
}

export function patchScene(sceneId: string, body: Patch): Promise<Scene> {
  const full = { cancel_in_flight: false, ...body }; // in-flight continuations finish and are added
  return unwrap(api.PATCH("/v1/scenes/{scene_id}", { params: { path: { scene_id: sceneId } }, body: full })) as Promise<Scene>;
}

export function SceneManage({ scene, onChange }: { scene: Scene; onChange: (scene: Scene) => void }) {
  const { me } = useSession();
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [form, setForm] = useState({ title: scene.title, description: scene.description });
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  // Off: continuations already under way finish and are added after a lock or archive.
  const [cancelInFlight, setCancelInFlight] = useState(false);
  if (!canManage(me, scene)) return null;

  /** True when the action worked; else its problem is on screen. */
  async function run(action: () => Promise<void>): Promise<boolean> {
    setBusy(true);
    setProblem(null);
    try {
      await action();
      return true;
    } catch (error) {
      setProblem(problemOf(error));
      return false;
    } finally {
      setBusy(false);
    }
  }
  const patch = (body: Patch) => run(async () => onChange(await patchScene(scene.id, body)));
  const close = (status: "locked" | "archived") => patch({ status, cancel_in_flight: cancelInFlight });
  const remove = () =>
    run(async () => {
      await unwrap(api.DELETE("/v1/scenes/{scene_id}", { params: { path: { scene_id: scene.id } } }));
      navigate("/", true);
    });
  async function save(event: Event) {
    event.preventDefault();
    // A refused edit keeps the form open, with the problem beside it.
    if (await patch({ title: form.title.trim(), description: form.description.trim() })) setEditing(false);
  }

  if (scene.deleted_at) {
    // Only moderators still see a deleted scene; they may bring it back.
    const restore = () =>
      run(async () =>
        onChange(
          (await unwrap(
            api.POST("/v1/scenes/{scene_id}/restore", { params: { path: { scene_id: scene.id } } }),
          )) as Scene,
        ),
      );
    return (
      <section aria-labelledby="manage-heading" class="manage">
        <h2 id="manage-heading">Manage this scene</h2>
        <p>This scene is deleted: nobody else sees it.</p>
        {me?.role !== "user" ? (
          <button type="button" disabled={busy} onClick={() => void restore()}>
            Restore
          </button>
        ) : null}
        {problem ? <ProblemMessage problem={problem} /> : null}
      </section>
    );
  }
  const closed = scene.status === "archived";
  return (
    <section aria-labelledby="manage-heading" class="manage">
      <h2 id="manage-heading">Manage this scene</h2>
      <div class="row">
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setForm({ title: scene.title, description: scene.description });
            setEditing(!editing);
          }}
        >
          Edit title and description
        </button>
        {scene.status === "locked" ? (
          <button type="button" class="secondary" disabled={busy} onClick={() => void patch({ status: "active" })}>
            Unlock
          </button>
        ) : closed ? (
          <button type="button" class="secondary" disabled={busy} onClick={() => void patch({ status: "active" })}>
            Reopen
          </button>
        ) : (
          <button type="button" class="secondary" disabled={busy} onClick={() => void close("locked")}>
            Lock
          </button>
        )}
        {!closed ? (
          <button type="button" class="secondary" disabled={busy} onClick={() => void close("archived")}>
            Archive
          </button>
        ) : null}
        {!closed ? (
          <label class="check">
            <input type="checkbox" checked={cancelInFlight} onChange={(e) => setCancelInFlight(e.currentTarget.checked)} />
            Cancel continuations in progress
          </label>
        ) : null}
        <button type="button" class="secondary" onClick={() => setConfirmDelete(true)}>
          Delete scene…
        </button>
      </div>
      {editing ? (
        <form class="stack" onSubmit={save} aria-label="Edit the scene">
          <label>
            Title
            <input name="title" value={form.title} onInput={(e) => setForm({ ...form, title: e.currentTarget.value })} />
          </label>
          <label>
            Description
            <textarea
              name="description"
              rows={3}
              value={form.description}
              onInput={(e) => setForm({ ...form, description: e.currentTarget.value })}
            />
          </label>
          <button type="submit" disabled={busy}>
            Save scene
          </button>
        </form>
      ) : null}
      {confirmDelete ? (
        <div class="stack" role="group" aria-label="Confirm deleting the scene">
          <p>Delete “{scene.title}”? It disappears from every list at once.</p>
          <div class="row">
            <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
              Delete for good
            </button>
            <button type="button" class="secondary" onClick={() => setConfirmDelete(false)}>
              Keep it
            </button>
          </div>
        </div>
      ) : null}
      {problem ? <ProblemMessage problem={problem} /> : null}
    </section>
  );
}

/** Per segment: "Use as cover" (owner, moderator) and "Withdraw my segment" (its author, while last). */
export function SegmentTools({
  scene,
  segment,
  last,
  onCover,
  onWithdrawn,
}: {
  scene: Scene;
  segment: { id: string; sequence: number; user_id?: string | null };
  last: boolean;
  onCover: (scene: Scene) => void;
  onWithdrawn: () => void;
}) {
  const { me } = useSession();
  const [problem, setProblem] = useState<Problem | null>(null);
  const manage = canManage(me, scene);
  const mine = last && !!me && me.id === segment.user_id;
  if (!manage && !mine) return null;
  async function act(action: () => Promise<void>) {
    setProblem(null);
    try {
      await action();
    } catch (error) {
      setProblem(problemOf(error));
    }
  }
  return (
    <div class="row">
      {manage ? (
        <button
          type="button"
          class="secondary"
          onClick={() => void act(async () => onCover(await patchScene(scene.id, { cover_segment_id: segment.id })))}
        >
          Use part {segment.sequence} as cover
        </button>
      ) : null}
      {mine ? (
        <button
          type="button"
          class="secondary"
          onClick={() =>
            void act(async () => {
              await unwrap(api.DELETE("/v1/segments/{segment_id}", { params: { path: { segment_id: segment.id } } }));
              onWithdrawn();
            })
          }
        >
          Withdraw my segment
        </button>
      ) : null}
      {problem ? <ProblemMessage problem={problem} /> : null}
    </div>
  );
}
