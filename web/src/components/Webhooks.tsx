/** The account page's webhooks: list, add (the signing secret shown once), remove. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap, type Schemas } from "../api/client";
import type { Problem } from "../api/problem";
import { Empty, Loading, ProblemMessage } from "./Status";
import { useLoaded } from "./useLoaded";

type Created = Schemas["WebhookCreated"];
const EVENTS = ["job.final_ready", "job.failed", "job.cancelled", "scene.continued", "moderation.action", "proposal.decided"];

export function Webhooks() {
  const hooks = useLoaded(() => unwrap(api.GET("/v1/webhooks", { params: { query: { limit: 100 } } })), []);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<string[]>(["job.final_ready"]);
  const [created, setCreated] = useState<Created | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function act(action: () => Promise<void>) {
    setBusy(true);
    setProblem(null);
    try {
      await action();
      hooks.reload();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }
  const add = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const body = { url: url.trim(), events: events as Schemas["WebhookIn"]["events"], all_users: false };
      setCreated((await unwrap(api.POST("/v1/webhooks", { body }))) as Created);
      setUrl("");
    });
  };
  const remove = (id: string) =>
    act(async () => {
      await unwrap(api.DELETE("/v1/webhooks/{webhook_id}", { params: { path: { webhook_id: id } } }));
      if (created?.id === id) setCreated(null);
    });
  const toggle = (name: string) => setEvents(events.includes(name) ? events.filter((e) => e !== name) : [...events, name]);

  const items = hooks.data?.items ?? [];
  return (
    <>
      <p>Your server hears about your jobs and scenes as they happen (signed as Standard Webhooks).</p>
      {hooks.problem ? (
        <ProblemMessage problem={hooks.problem} />
      ) : !hooks.data ? (
        <Loading what="your webhooks" />
      ) : items.length === 0 ? (
        <Empty>No webhooks yet: add one below.</Empty>
      ) : (
        <ul class="webhooks">
          {items.map((hook) => (
            <li key={hook.id}>
              <code>{hook.url}</code> · {hook.events.join(", ")}
              {hook.disabled_at ? ` · turned off: ${hook.disabled_reason ?? ""}` : ""}{" "}
              <button type="button" class="secondary" disabled={busy} onClick={() => void remove(hook.id)}>
                Remove webhook {hook.url}
              </button>
            </li>
          ))}
        </ul>
      )}
      {created ? (
        <div class="stack" role="status">
          <p>
            Webhook added. Its signing secret, shown only now: <code>{created.secret}</code>
          </p>
        </div>
      ) : null}
      <form class="stack" onSubmit={add} aria-label="Add a webhook" noValidate>
        <label>
          Webhook URL
          <input name="url" type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map((name) => (
            <label key={name} class="check">
              <input type="checkbox" checked={events.includes(name)} onChange={() => toggle(name)} /> {name}
            </label>
          ))}
        </fieldset>
        {problem ? <ProblemMessage problem={problem} /> : null}
        <button type="submit" disabled={busy}>
          Add webhook
        </button>
      </form>
    </>
  );
}
