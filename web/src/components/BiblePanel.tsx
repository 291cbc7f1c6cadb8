/** The scene's bible beside the player: characters, setting, threads, timeline; history and diffs. */

import { useEffect, useState } from "preact/hooks";
import { api, problemOf, unwrap } from "../api/client";
import type { Problem } from "../api/problem";
import { readableDiff, type DiffLine, type PatchOp } from "./bibleDiff";
import { timeAgo } from "./format";
import { Empty, Loading, ProblemMessage } from "./Status";
import { useLoaded } from "./useLoaded";

type Bible = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function Characters({ bible }: { bible: Bible }) {
  const characters: Bible[] = bible.characters ?? [];
  if (!characters.length) return <Empty>No characters yet.</Empty>;
  return (
    <ul class="plain">
      {characters.map((c) => (
        <li key={c.entityId}>
          <strong>{c.canonicalName}</strong>
          {c.isActive === false ? <span class="meta"> (no longer active)</span> : null}
          {c.aliases?.length ? <span class="meta"> · also {c.aliases.join(", ")}</span> : null}
          {c.description ? <div>{c.description}</div> : null}
        </li>
      ))}
    </ul>
  );
}

function BibleView({ bible }: { bible: Bible }) {
  const setting = bible.setting ?? {};
  const threads: Bible[] = bible.plotThreads ?? [];
  const events: Bible[] = bible.timeline?.majorEvents ?? [];
  return (
    <div class="bible">
      <h3>Characters</h3>
      <Characters bible={bible} />
      <h3>Setting</h3>
      <p>
        {setting.primaryLocation ?? "Somewhere"}
        {setting.timePeriod ? ` · ${setting.timePeriod}` : ""}
      </p>
      {setting.worldRules?.length ? (
        <ul class="plain">
          {setting.worldRules.map((r: string) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      ) : null}
      <h3>Threads</h3>
      {threads.length ? (
        <ul class="plain">
          {threads.map((t) => (
            <li key={t.id}>
              {t.description} <span class={`tag tag-${t.status}`}>{t.status}</span>
            </li>
          ))}
        </ul>
      ) : (
        <Empty>No plot threads.</Empty>
      )}
      <h3>Timeline</h3>
      <p>Now: {bible.timeline?.currentPoint ?? "the beginning"}</p>
      {events.length ? (
        <ol class="plain">
          {events.map((e, i) => (
            <li key={i}>
              {e.segmentNumber ? <span class="meta">Segment {e.segmentNumber}: </span> : null}
              {e.description ?? e.event ?? JSON.stringify(e)}
            </li>
          ))}
        </ol>
      ) : (
        <Empty>No events yet.</Empty>
      )}
    </div>
  );
}

export function DiffView({ lines }: { lines: DiffLine[] }) {
  if (!lines.length) return <Empty>These two versions are the same.</Empty>;
  return (
    <ul class="diff">
      {lines.map((line, i) => (
        <li key={i} class={`diff-${line.kind}`}>
          <span class="diff-kind">{line.kind}</span> <strong>{line.where}</strong>
          {line.kind === "changed" ? (
            <>
              : <del>{line.before}</del> → <ins>{line.after}</ins>
            </>
          ) : line.kind === "added" ? (
            line.after !== undefined ? (
              <>
                : <ins>{line.after}</ins>
              </>
            ) : null
          ) : line.kind === "removed" ? (
            <>
              : <del>{line.before}</del>
            </>
          ) : (
            <> from {line.before}</>
          )}
        </li>
      ))}
    </ul>
  );
}

function History({ sceneId, latest }: { sceneId: string; latest: number }) {
  const versions = useLoaded(
    () =>
      unwrap(
        api.GET("/v1/scenes/{scene_id}/bible/versions", { params: { path: { scene_id: sceneId }, query: { limit: 100 } } }),
      ).then((p) => p.items),
    [sceneId, latest],
  );
  const [from, setFrom] = useState(Math.max(1, latest - 1));
  const [to, setTo] = useState(latest);
  const [diff, setDiff] = useState<{ lines: DiffLine[] | null; problem: Problem | null }>({ lines: null, problem: null });

  useEffect(() => {
    setFrom(Math.max(1, latest - 1));
    setTo(latest);
  }, [latest]);

  useEffect(() => {
    if (from === to) {
      setDiff({ lines: [], problem: null });
      return;
    }
    let live = true;
    setDiff({ lines: null, problem: null });
    const path = { scene_id: sceneId };
    // The patch and the older version's data in parallel: the data names what the patch changed.
    Promise.all([
      unwrap(api.GET("/v1/scenes/{scene_id}/bible/diff", { params: { path, query: { from, to } } })),
      unwrap(api.GET("/v1/scenes/{scene_id}/bible/versions/{version}", { params: { path: { ...path, version: from } } })),
    ]).then(
      ([patch, before]) => live && setDiff({ lines: readableDiff(patch.patch as unknown as PatchOp[], before.data), problem: null }),
      (error) => live && setDiff({ lines: null, problem: problemOf(error) }),
    );
    return () => {
      live = false;
    };
  }, [sceneId, from, to]);

  if (versions.problem) return <ProblemMessage problem={versions.problem} />;
  if (!versions.data) return <Loading what="the bible's history" />;
  const options = versions.data.map((v) => (
    <option key={v.version} value={v.version}>
      v{v.version}
    </option>
  ));
  return (
    <div class="stack">
      <ol class="plain versions">
        {versions.data.map((v) => (
          <li key={v.version}>
            <strong>v{v.version}</strong> <span class="meta">{timeAgo(v.created_at)}</span>
            {v.change_note ? ` · ${v.change_note}` : v.source_job_id ? " · from a continuation" : ""}
          </li>
        ))}
      </ol>
      {versions.data.length > 1 ? (
        <>
          <div class="row">
            <label>
              Compare
              <select value={from} onChange={(e) => setFrom(Number(e.currentTarget.value))}>
                {options}
              </select>
            </label>
            <label>
              with
              <select value={to} onChange={(e) => setTo(Number(e.currentTarget.value))}>
                {options}
              </select>
            </label>
          </div>
          {diff.problem ? (
            <ProblemMessage problem={diff.problem} />
          ) : diff.lines === null ? (
            <Loading what="the differences" />
          ) : (
            <DiffView lines={diff.lines} />
          )}
        </>
      ) : (
        <Empty>Only one version so far: nothing to compare.</Empty>
      )}
    </div>
  );
}

export function BiblePanel({ sceneId, refresh }: { sceneId: string; refresh: number }) {
  const bible = useLoaded(
    () => unwrap(api.GET("/v1/scenes/{scene_id}/bible", { params: { path: { scene_id: sceneId } } })),
    [sceneId, refresh],
  );
  const [tab, setTab] = useState<"now" | "history">("now");
  return (
    <aside class="panel" aria-labelledby="bible-heading">
      <h2 id="bible-heading">Story bible {bible.data ? <span class="meta">v{bible.data.version}</span> : null}</h2>
      <div class="tabs" role="group" aria-label="Bible view">
        <button type="button" class="secondary" aria-pressed={tab === "now"} onClick={() => setTab("now")}>
          Current
        </button>
        <button type="button" class="secondary" aria-pressed={tab === "history"} onClick={() => setTab("history")}>
          History and changes
        </button>
      </div>
      {tab === "history" ? (
        <History sceneId={sceneId} latest={bible.data?.version ?? 1} />
      ) : bible.problem ? (
        <ProblemMessage problem={bible.problem} />
      ) : bible.data ? (
        <BibleView bible={bible.data.data as Bible} />
      ) : (
        <Loading what="the bible" />
      )}
    </aside>
  );
}
