/** One flagged target in the moderation queue: what it is, in context, its reports, the decisions. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap, type Schemas } from "../api/client";
import type { Problem } from "../api/problem";
import { Link } from "../app/router";
import type { Me } from "../auth/useSession";
import { timeAgo } from "./format";
import { Player } from "./Player";
import { REASONS } from "./ReportButton";
import { Loading, ProblemMessage } from "./Status";
import { useLoaded } from "./useLoaded";

export type QueueItem = Schemas["QueueItem"];
export type Action = Schemas["ResolveIn"]["action_taken"];

export const ACTIONS: [Action, string][] = [
  ["hide", "Hide it"],
  ["remove", "Remove it"],
  ["ban_user", "Ban its author"],
  ["none", "No action (it is fine)"],
];

const KIND: Record<string, string> = { idea: "Idea", scene: "Scene", segment: "Segment", user: "User", topic: "Topic" };
const REASON_WORDS = Object.fromEntries(REASONS);

export function targetLabel(item: { target_type: string; target_summary?: string | null }): string {
  return `${KIND[item.target_type] ?? item.target_type}: ${item.target_summary ?? "(no longer exists)"}`;
}

function Context({ flagId }: { flagId: string }) {
  const ctx = useLoaded(() => unwrap(api.GET("/v1/moderation/flags/{flag_id}/target", { params: { path: { flag_id: flagId } } })), [flagId]);
  if (ctx.problem) return <ProblemMessage problem={ctx.problem} />;
  const c = ctx.data;
  if (!c) return <Loading what="the flagged content" />;
  if (!c.exists) return <p class="meta">The content no longer exists.</p>;
  return (
    <div class="context">
      {c.target_type === "segment" ? (
        <>
          <p class="meta">
            Part {c.sequence} of the scene{" "}
            {c.scene_id ? <Link href={`/scenes/${c.scene_id}`}>{c.scene_title}</Link> : "(gone)"}
            {c.idea_title ? ` · from the idea “${c.idea_title}”` : ""}
          </p>
          {c.hls_playlist_url ? (
            <Player src={c.hls_playlist_url} version={0} chapters={[]} poster={c.thumbnail_url} />
          ) : c.video_url ? (
            <video controls preload="metadata" src={c.video_url} poster={c.thumbnail_url ?? undefined} aria-label={`Segment ${c.sequence} video`} />
          ) : null}
        </>
      ) : c.target_type === "scene" ? (
        <p class="meta">
          Scene <Link href={`/scenes/${c.target_id}`}>{c.title}</Link>
          {c.idea_title ? ` · from the idea “${c.idea_title}”` : ""}
        </p>
      ) : (
        <p class="meta">{c.title}</p>
      )}
      {c.text ? <blockquote>{c.text}</blockquote> : null}
      {c.tags.length ? <p class="meta">Tags: {c.tags.join(", ")}</p> : null}
      <p class="meta">
        By {c.author_username ?? "someone"} · now {c.status}
      </p>
    </div>
  );
}

interface Props {
  item: QueueItem;
  me: Me;
  selected: boolean;
  onSelect: (on: boolean) => void;
  /** After a claim or a decision: the words to announce; the page reloads the queue. */
  onDone: (message: string) => void;
}

export function QueueCard({ item, me, selected, onSelect, onDone }: Props) {
  const [action, setAction] = useState<Action>("hide");
  const [notes, setNotes] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const flagId = item.flags[0]?.id;
  const label = targetLabel(item);
  const key = `${item.target_type}-${item.target_id}`;
  const mine = item.claimed_by === me.id;
  const claimedByOther = item.claimed_by !== null && !mine;

  async function run(what: "claim" | "resolve" | "dismiss") {
    if (!flagId) return;
    setBusy(true);
    setProblem(null);
    const path = { params: { path: { flag_id: flagId } } };
    try {
      if (what === "claim") {
        await unwrap(api.POST("/v1/moderation/flags/{flag_id}/claim", path));
        onDone(`You claimed ${label}.`);
      } else if (what === "resolve") {
        await unwrap(api.POST("/v1/moderation/flags/{flag_id}/resolve", { ...path, body: { action_taken: action, notes: notes.trim() || null } }));
        onDone(`Resolved (${ACTIONS.find(([a]) => a === action)?.[1].toLowerCase()}): ${label}.`);
      } else {
        await unwrap(api.POST("/v1/moderation/flags/{flag_id}/dismiss", { ...path, body: { notes: notes.trim() || null } }));
        onDone(`Dismissed the reports on ${label}.`);
      }
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(false);
    }
  }

  return (
    <li class="queue-item" aria-labelledby={`${key}-title`}>
      <div class="row">
        <label class="check">
          <input type="checkbox" checked={selected} onChange={(e) => onSelect(e.currentTarget.checked)} />
          <span class="visually-hidden">Select {label}</span>
        </label>
        <h3 id={`${key}-title`}>{label}</h3>
      </div>
      <p class="row">
        {item.reasons.map((r) => (
          <span key={r} class="reason">
            {REASON_WORDS[r] ?? r}
          </span>
        ))}
        <span class="meta">
          {item.flag_count} report{item.flag_count === 1 ? "" : "s"} from {item.reporter_count} {item.reporter_count === 1 ? "person" : "people"}
          {item.automatic_count ? ` · ${item.automatic_count} automatic` : ""} · priority {item.score.toFixed(1)}
          {item.target_status ? ` · ${item.target_status}` : ""}
          {mine ? " · claimed by you" : claimedByOther ? " · claimed by another moderator" : ""}
        </span>
      </p>
      {flagId ? <Context flagId={flagId} /> : null}
      <details>
        <summary>What the reporters said</summary>
        <ul class="plain">
          {item.flags.map((f) => (
            <li key={f.id}>
              <strong>{REASON_WORDS[f.reason] ?? f.reason}</strong>
              {f.reporter_id === null ? " (automatic check)" : ""} · <span class="meta">{timeAgo(f.created_at)}</span>
              {f.description ? <div>{f.description}</div> : null}
            </li>
          ))}
        </ul>
      </details>
      {problem ? <ProblemMessage problem={problem} /> : null}
      <div class="row">
        {!mine && !claimedByOther ? (
          <button type="button" class="secondary" disabled={busy} onClick={() => void run("claim")}>
            Claim
          </button>
        ) : null}
        <label>
          Action
          <select value={action} onChange={(e) => setAction(e.currentTarget.value as Action)}>
            {ACTIONS.map(([value, words]) => (
              <option key={value} value={value}>
                {words}
              </option>
            ))}
          </select>
        </label>
        <label>
          Notes (optional)
          <input type="text" maxLength={2000} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
        </label>
        <button type="button" disabled={busy || claimedByOther} onClick={() => void run("resolve")}>
          Resolve
        </button>
        <button type="button" class="secondary" disabled={busy || claimedByOther} onClick={() => void run("dismiss")}>
          Dismiss
        </button>
      </div>
    </li>
  );
}
