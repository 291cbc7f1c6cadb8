/** Moderate: the flag queue by priority, claims and decisions one by one or in bulk, the audit trail,
 * and the deleted scenes and ideas still restorable. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap, type Schemas } from "../api/client";
import type { Problem } from "../api/problem";
import { Link } from "../app/router";
import type { Me } from "../auth/useSession";
import { DeletedList } from "../components/DeletedList";
import { timeAgo } from "../components/format";
import { Gate } from "../components/Gate";
import { ACTIONS, QueueCard, type Action, type QueueItem } from "../components/QueueCard";
import { Empty, Loading, ProblemMessage } from "../components/Status";
import { useLoaded, type Loaded } from "../components/useLoaded";
import "../styles/manage.css";

type BulkOut = Schemas["BulkOut"];
type ActionOut = Schemas["ActionOut"];

const keyOf = (item: QueueItem) => `${item.target_type}:${item.target_id}`;

/** "2 resolved, 1 skipped (claimed)" from a bulk answer. */
export function bulkSummary(out: BulkOut): string {
  const resolved = out.results.filter((r) => r.outcome === "resolved").length;
  const dismissed = out.results.filter((r) => r.outcome === "dismissed").length;
  const skipped = out.results.filter((r) => r.outcome === "skipped");
  const parts = [];
  if (resolved) parts.push(`${resolved} resolved`);
  if (dismissed) parts.push(`${dismissed} dismissed`);
  if (skipped.length) parts.push(`${skipped.length} skipped (${[...new Set(skipped.map((s) => (s.skipped_because ?? "").replace(/_/g, " ")))].join(", ")})`);
  if (out.not_found.length) parts.push(`${out.not_found.length} no longer exist`);
  return parts.join(", ") || "Nothing to do";
}

function Queue(props: {
  title: string;
  empty: string;
  state: Loaded<QueueItem[]>;
  me: Me;
  selected: Set<string>;
  select: (key: string, on: boolean) => void;
  onDone: (message: string) => void;
}) {
  const { state } = props;
  const id = `h-${props.title.replace(/\W+/g, "-")}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>
        {props.title} {state.data ? <span class="meta">({state.data.length})</span> : null}
      </h2>
      {state.problem ? (
        <ProblemMessage problem={state.problem} />
      ) : !state.data ? (
        <Loading what="the flag queue" />
      ) : !state.data.length ? (
        <Empty>{props.empty}</Empty>
      ) : (
        <ul class="queue">
          {state.data.map((item) => (
            <QueueCard
              key={keyOf(item)}
              item={item}
              me={props.me}
              selected={props.selected.has(keyOf(item))}
              onSelect={(on) => props.select(keyOf(item), on)}
              onDone={props.onDone}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function AuditTrail({ state, me }: { state: Loaded<ActionOut[]>; me: Me }) {
  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit trail</h2>
      {state.problem ? (
        <ProblemMessage problem={state.problem} />
      ) : !state.data ? (
        <Loading what="the audit trail" />
      ) : !state.data.length ? (
        <Empty>No decisions yet.</Empty>
      ) : (
        <div class="table-scroll">
          <table class="data">
            <caption class="visually-hidden">Moderation decisions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Notes</th>
              </tr>
            </thead>
            <tbody>
              {state.data.map((a) => (
                <tr key={a.id}>
                  <td>
                    <time dateTime={a.created_at} title={new Date(a.created_at).toLocaleString()}>
                      {timeAgo(a.created_at)}
                    </time>
                  </td>
                  <td>{a.moderator_id === null ? "automatic check" : a.moderator_id === me.id ? "you" : `moderator ${a.moderator_id.slice(0, 8)}`}</td>
                  <td>{a.action.replace(/_/g, " ")}</td>
                  <td>
                    {a.target_type === "scene" ? (
                      <Link href={`/scenes/${a.target_id}`}>scene {a.target_id.slice(0, 8)}</Link>
                    ) : (
                      `${a.target_type} ${a.target_id.slice(0, 8)}`
                    )}
                  </td>
                  <td>{a.notes ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Moderation({ me }: { me: Me }) {
  const queue = (status: "pending" | "reviewing") =>
    unwrap(api.GET("/v1/moderation/flags", { params: { query: { status, limit: 50 } } })).then((p) => p.items);
  // The three lists start together (no waterfall); decisions reload them.
  const reviewing = useLoaded(() => queue("reviewing"));
  const pending = useLoaded(() => queue("pending"));
  const audit = useLoaded(() => unwrap(api.GET("/v1/moderation/actions", { params: { query: { limit: 20 } } })).then((p) => p.items));
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const [bulkAction, setBulkAction] = useState<Action | "dismiss">("hide");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  function reload(words: string) {
    setMessage(words);
    reviewing.reload();
    pending.reload();
    audit.reload();
  }

  function select(key: string, on: boolean) {
    const next = new Set(selected);
    if (on) next.add(key);
    else next.delete(key);
    setSelected(next);
  }

  async function applyBulk() {
    const items = [...(reviewing.data ?? []), ...(pending.data ?? [])].filter((i) => selected.has(keyOf(i)));
    const flagIds = items.map((i) => i.flags[0]?.id).filter((id): id is string => Boolean(id));
    if (!flagIds.length) return;
    setBusy(true);
    setProblem(null);
    try {
      const out =
        bulkAction === "dismiss"
          ? await unwrap(api.POST("/v1/moderation/flags/bulk-dismiss", { body: { flag_ids: flagIds } }))
          : await unwrap(api.POST("/v1/moderation/flags/bulk-resolve", { body: { flag_ids: flagIds, action_taken: bulkAction } }));
      setSelected(new Set());
      reload(`${items.length} selected: ${bulkSummary(out)}.`);
    } catch (error) {
      setProblem(problemOf(error));
    }
    setBusy(false);
  }

  const common = { me, selected, select, onDone: reload };
  return (
    <>
      <h1>Moderation</h1>
      <p class="meta">Reported content, highest priority first. Claim an item to review it without others stepping in.</p>
      {message ? (
        <p class="ok-text" role="status">
          {message}
        </p>
      ) : null}
      {selected.size ? (
        <div class="bulk-bar row" role="region" aria-label="Bulk decision">
          <strong>{selected.size} selected</strong>
          <label>
            Decision for all selected
            <select value={bulkAction} onChange={(e) => setBulkAction(e.currentTarget.value as Action | "dismiss")}>
              {ACTIONS.map(([value, words]) => (
                <option key={value} value={value}>
                  {words}
                </option>
              ))}
              <option value="dismiss">Dismiss the reports</option>
            </select>
          </label>
          <button type="button" disabled={busy} onClick={() => void applyBulk()}>
            Apply to {selected.size} selected
          </button>
          <button type="button" class="secondary" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
          {problem ? <ProblemMessage problem={problem} /> : null}
        </div>
      ) : null}
      <Queue title="Under review" empty="Nothing claimed: claim an item below to start." state={reviewing} {...common} />
      <Queue title="Waiting for a moderator" empty="No reports waiting. All clear." state={pending} {...common} />
      <AuditTrail state={audit} me={me} />
      <DeletedList onRestored={reload} />
    </>
  );
}

export function ModeratePage() {
  return (
    <Gate title="Moderation" role="moderator" purpose="to moderate">
      {(me) => <Moderation me={me} />}
    </Gate>
  );
}
