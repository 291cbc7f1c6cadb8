/**
 * Own: edit a scene's bible with If-Match. When someone saved in between (412), show what they
 * changed and reapply this editor's change on top of their version (bible/reapply.ts), then retry.
 */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap } from "../api/client";
import { toProblem, type Problem } from "../api/problem";
import type { PageProps } from "../app/App";
import { Link } from "../app/router";
import type { Me } from "../auth/useSession";
import { reapply, setAt, type Json, type MergeConflict } from "../bible/reapply";
import { BibleForm, type Bible } from "../components/BibleForm";
import { DiffView } from "../components/BiblePanel";
import { describePath, readableDiff, show, type DiffLine, type PatchOp } from "../components/bibleDiff";
import { Gate } from "../components/Gate";
import { Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";

interface Version {
  version: number;
  data: Bible;
}

interface Stale {
  current: Version;
  theirs: DiffLine[];
}

interface Pending {
  conflicts: MergeConflict[];
  /** Per conflict: true when the editor took their own value over the current one. */
  mine: boolean[];
}

function bibleOf(sceneId: string): Promise<Version> {
  return unwrap(api.GET("/v1/scenes/{scene_id}/bible", { params: { path: { scene_id: sceneId } } })) as Promise<Version>;
}

function Editor({ sceneId, start }: { sceneId: string; start: Version }) {
  const [base, setBase] = useState<Version>(start);
  const [draft, setDraft] = useState<Bible>(start.data);
  const [note, setNote] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [stale, setStale] = useState<Stale | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [saved, setSaved] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);

  async function save(data: Bible, on: Version): Promise<void> {
    setBusy(true);
    setProblem(null);
    setSaved(null);
    try {
      const { data: stored, error, response } = await api.PUT("/v1/scenes/{scene_id}/bible", {
        params: { path: { scene_id: sceneId } },
        body: { data, change_note: note.trim() || null },
        headers: { "If-Match": `"${on.version}"` },
      });
      if (response.status === 412) {
        const body = (error ?? {}) as { current_version?: number; base_version?: number | null; patch?: PatchOp[] | null };
        const current = await bibleOf(sceneId);
        const patch =
          body.patch && body.base_version === on.version
            ? body.patch
            : ((await unwrap(
                api.GET("/v1/scenes/{scene_id}/bible/diff", {
                  params: { path: { scene_id: sceneId }, query: { from: on.version, to: current.version } },
                }),
              )).patch as unknown as PatchOp[]);
        setStale({ current, theirs: readableDiff(patch, on.data) });
      } else if (!response.ok || !stored) {
        setProblem(toProblem(response.status, error));
      } else {
        const next = { version: stored.version, data: stored.data as Bible };
        setBase(next);
        setDraft(next.data);
        setSaved(next.version);
        setPending(null);
        setNote("");
      }
    } catch (e) {
      setProblem(problemOf(e));
    }
    setBusy(false);
  }

  function reapplyAndSave() {
    if (!stale) return;
    const result = reapply(base.data as Json, draft as Json, stale.current.data as Json);
    const merged = result.merged as Bible;
    setBase(stale.current);
    setDraft(merged);
    setStale(null);
    if (result.conflicts.length) {
      setPending({ conflicts: result.conflicts, mine: result.conflicts.map(() => false) });
    } else {
      void save(merged, stale.current);
    }
  }

  function discardMine() {
    if (!stale) return;
    setBase(stale.current);
    setDraft(stale.current.data);
    setStale(null);
    setPending(null);
  }

  function choose(i: number, mine: boolean) {
    if (!pending) return;
    const c = pending.conflicts[i];
    setDraft(setAt(draft as Json, c.pointer, mine ? c.mine : c.current) as Bible);
    setPending({ ...pending, mine: pending.mine.map((m, j) => (j === i ? mine : m)) });
  }

  if (stale) {
    return (
      <section class="conflict" aria-labelledby="stale-heading">
        <h2 id="stale-heading">Someone changed the bible while you were editing</h2>
        <p>
          You started from version {base.version}; it is now at version {stale.current.version}. Your change is not saved
          yet. What changed in between:
        </p>
        <DiffView lines={stale.theirs} />
        <div class="row">
          <button type="button" disabled={busy} onClick={reapplyAndSave}>
            Reapply my change on version {stale.current.version} and save
          </button>
          <button type="button" class="secondary" onClick={discardMine}>
            Discard my change and edit version {stale.current.version}
          </button>
        </div>
      </section>
    );
  }

  return (
    <form
      class="stack"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save(draft, base);
      }}
    >
      {saved !== null ? (
        <p class="ok-text" role="status">
          Saved: the bible is now at version {saved}. <Link href={`/scenes/${sceneId}`}>Back to the scene</Link>
        </p>
      ) : null}
      {pending ? (
        <section class="conflict" aria-labelledby="conflicts-heading">
          <h2 id="conflicts-heading">Your change and theirs touch the same places</h2>
          <p>The rest of your change is applied on version {base.version}. For each place, keep theirs or use yours, then save.</p>
          <ul class="plain">
            {pending.conflicts.map((c, i) => (
              <li key={c.pointer} class="item-row">
                <strong>{describePath(c.pointer, draft)}</strong>
                <span>
                  Theirs: {show(c.current)} · Yours: {show(c.mine)}
                </span>
                <div class="row">
                  <button type="button" class="secondary" aria-pressed={!pending.mine[i]} onClick={() => choose(i, false)}>
                    Keep theirs
                  </button>
                  <button type="button" class="secondary" aria-pressed={pending.mine[i]} onClick={() => choose(i, true)}>
                    Use mine
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <p class="meta">Editing version {base.version}.</p>
      <BibleForm value={draft} onChange={setDraft} problem={problem} prefix="/data" />
      <label>
        What you changed (optional)
        <input type="text" maxLength={2000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
      {problem ? <ProblemMessage problem={problem} /> : null}
      <button type="submit" disabled={busy}>
        {busy ? "Saving…" : "Save the bible"}
      </button>
    </form>
  );
}

function EditBible({ sceneId, me }: { sceneId: string; me: Me }) {
  const scene = useLoaded(() => unwrap(api.GET("/v1/scenes/{scene_id}", { params: { path: { scene_id: sceneId } } })), [sceneId]);
  const bible = useLoaded(() => bibleOf(sceneId), [sceneId]);
  const problem = scene.problem ?? bible.problem;
  if (problem) return <ProblemMessage problem={problem} />;
  if (!scene.data || !bible.data) return <Loading what="the bible" />;
  const allowed = scene.data.user_id === me.id || me.role === "moderator" || me.role === "admin";
  return (
    <>
      <h1>Edit the bible of “{scene.data.title}”</h1>
      <p>
        <Link href={`/scenes/${sceneId}`}>Back to the scene</Link>
      </p>
      {allowed ? (
        <Editor sceneId={sceneId} start={bible.data} />
      ) : (
        <div class="problem" role="alert">
          <strong>Not allowed</strong>
          <p>Only the scene's owner or a moderator can edit its bible.</p>
        </div>
      )}
    </>
  );
}

export function BibleEditPage({ params }: PageProps) {
  return (
    <Gate title="Edit the bible" purpose="to edit this scene's bible">
      {(me) => <EditBible sceneId={params.id} me={me} />}
    </Gate>
  );
}
