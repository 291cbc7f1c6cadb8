/** Watch and write: the scene's player with chapters, its segments, the bible, the continue box. */

import { useMemo, useState } from "preact/hooks";
import { api, unwrap, type Schemas } from "../api/client";
import type { PageProps } from "../app/App";
import { Link } from "../app/router";
import { BiblePanel } from "../components/BiblePanel";
import { ContinueBox } from "../components/ContinueBox";
import { formatDuration, plural, timeAgo } from "../components/format";
import { Player, type Chapter } from "../components/Player";
import { DownloadButton, LikeButton } from "../components/SceneActions";
import { EditBibleLink } from "../components/EditBibleLink";
import { ReportButton } from "../components/ReportButton";
import { SceneManage, SegmentTools } from "../components/SceneManage";
import { Empty, Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";
import type { Job } from "../jobs/follow";

type Scene = Schemas["SceneOut"];
/** Author fields are optional so the page works against an API that does not name authors yet. */
type Segment = Schemas["SegmentOut"] & { author_username?: string | null; author_display_name?: string | null };

function authorOf(segment: Segment): string {
  return segment.author_display_name || segment.author_username || "a contributor";
}

/** Every segment (the chapters need them all); a long scene takes more than one page. */
async function allSegments(sceneId: string): Promise<Segment[]> {
  const items: Segment[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: Segment[]; next_cursor?: string | null } = await unwrap(
      api.GET("/v1/scenes/{scene_id}/segments", {
        params: { path: { scene_id: sceneId }, query: { limit: 100, cursor } },
      }),
    );
    items.push(...page.items);
    cursor = page.next_cursor ?? null;
  } while (cursor);
  return items;
}

export function chaptersOf(segments: Segment[]): Chapter[] {
  let start = 0;
  return segments.map((s) => {
    const chapter = { start, title: `Part ${s.sequence} · by ${authorOf(s)}` };
    start += s.duration;
    return chapter;
  });
}

interface Tools {
  scene: Scene | null;
  onCover: (scene: Scene) => void;
  onWithdrawn: () => void;
}

function SegmentList({ segments, now, tools }: { segments: Segment[]; now: number; tools: Tools }) {
  if (!segments.length) return <Empty>No segments yet: be the first to continue this scene.</Empty>;
  return (
    <ol class="segments">
      {segments.map((s, i) => (
        <li key={s.id}>
          <div class="meta">
            Part {s.sequence} · by{" "}
            {s.author_username ? (
              <Link href={`/users/${s.author_username}`}>
                <strong>{authorOf(s)}</strong>
              </Link>
            ) : (
              authorOf(s)
            )}{" "}
            ·{" "}
            <time dateTime={s.created_at} title={new Date(s.created_at).toLocaleString()}>
              {timeAgo(s.created_at, now)}
            </time>{" "}
            · {formatDuration(s.duration)}
          </div>
          <p>{s.text}</p>
          <ReportButton targetType="segment" targetId={s.id} label={`Report part ${s.sequence}`} />
          {tools.scene ? (
            <SegmentTools
              scene={tools.scene}
              segment={s}
              last={i === segments.length - 1}
              onCover={tools.onCover}
              onWithdrawn={tools.onWithdrawn}
            />
          ) : null}
        </li>
      ))}
    </ol>
  );
}

export function ScenePage({ params }: PageProps) {
  const sceneId = params.id;
  const path = { params: { path: { scene_id: sceneId } } };
  // Both requests start on the first render (no waterfall); the bible panel starts its own beside them.
  const scene = useLoaded(() => unwrap(api.GET("/v1/scenes/{scene_id}", path)) as Promise<Scene>, [sceneId]);
  const segments = useLoaded(() => allSegments(sceneId), [sceneId]);
  const [grown, setGrown] = useState({ version: 0, startAt: null as number | null });
  const chapters = useMemo(() => chaptersOf(segments.data ?? []), [segments.data]);

  function onFinalReady(job: Job) {
    // The playlist already names the new segment: reload it in place and start there.
    const result = (job.result_data ?? {}) as { duration?: number };
    const total = (segments.data ?? []).reduce((sum, s) => sum + s.duration, 0);
    setGrown((g) => ({ version: g.version + 1, startAt: result.duration !== undefined ? total : null }));
    segments.reload();
    scene.reload();
  }

  function countView() {
    api.POST("/v1/scenes/{scene_id}/views", path).then(
      ({ data }) => data && scene.data && scene.set({ ...scene.data, view_count: data.view_count }),
      () => undefined, // a view that could not be counted changes nothing a person needs
    );
  }

  if (scene.problem && !scene.data) {
    return (
      <ProblemMessage problem={scene.problem}>
        <p>
          <Link href="/">Back to Discover</Link>
        </p>
      </ProblemMessage>
    );
  }
  const s = scene.data;
  const hasVideo = (s?.segment_count ?? segments.data?.length ?? 0) > 0 || grown.version > 0;
  const poster = s?.cover_url ?? segments.data?.[0]?.thumbnail_url ?? null;
  return (
    <div class="scene-layout">
      <div class="scene-main">
        {s ? (
          <>
            <h1>{s.title}</h1>
            <p class="meta">
              {plural(s.contributor_count, "contributor")} · {plural(s.segment_count, "part")} ·{" "}
              {formatDuration(s.total_duration)} · {plural(s.view_count, "view")}
              {s.status !== "active" ? ` · ${s.status}` : ""}
              {s.deleted_at ? " · deleted" : ""}
            </p>
            {s.description ? <p>{s.description}</p> : null}
            <div class="row">
              <LikeButton key={s.id} sceneId={s.id} count={s.like_count} />
              {s.segment_count > 0 ? <DownloadButton url={s.export_url} /> : null}
              <EditBibleLink sceneId={s.id} ownerId={s.user_id} />
              <ReportButton targetType="scene" targetId={s.id} label="Report this scene" />
            </div>
            <SceneManage key={s.id} scene={s} onChange={scene.set} />
          </>
        ) : (
          <Loading what="the scene" />
        )}
        {hasVideo && s ? (
          <Player
            src={s.playlist_url}
            version={grown.version}
            startAt={grown.startAt}
            chapters={chapters}
            poster={poster}
            onFirstPlay={countView}
          />
        ) : s ? (
          <Empty>No video yet: this scene is waiting for its first continuation.</Empty>
        ) : null}
        <section aria-labelledby="continue-heading">
          <h2 id="continue-heading">Continue this scene</h2>
          <ContinueBox sceneId={sceneId} locked={s?.status === "locked"} onFinalReady={onFinalReady} />
        </section>
        <section aria-labelledby="segments-heading">
          <h2 id="segments-heading">The story so far</h2>
          {segments.problem ? (
            <ProblemMessage problem={segments.problem} />
          ) : segments.data ? (
            <SegmentList
              segments={segments.data}
              now={Date.now()}
              tools={{
                scene: s,
                onCover: scene.set,
                onWithdrawn: () => {
                  segments.reload();
                  scene.reload();
                  setGrown((g) => ({ version: g.version + 1, startAt: null }));
                },
              }}
            />
          ) : (
            <Loading what="the segments" />
          )}
        </section>
      </div>
      <BiblePanel sceneId={sceneId} refresh={grown.version} />
    </div>
  );
}
