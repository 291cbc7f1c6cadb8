/** `/notifications`: what happened to the person's jobs, scenes and content, in words. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap, type Schemas } from "../api/client";
import type { Problem } from "../api/problem";
import { Link } from "../app/router";
import { useSession } from "../auth/useSession";
import { timeAgo } from "../components/format";
import { notificationsChanged } from "../components/NotificationBell";
import { describeNotification } from "../components/notificationText";
import { SignInPrompt } from "../components/SignInPrompt";
import { Empty, Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";

type Note = Schemas["NotificationOut"];
type Inbox = Schemas["NotificationPage"];

export function NotificationsPage() {
  const { status } = useSession();
  const [older, setOlder] = useState<Note[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [problem, setProblem] = useState<Problem | null>(null);
  const inbox = useLoaded(
    () => unwrap(api.GET("/v1/notifications", { params: { query: { limit: 50 } } })) as Promise<Inbox>,
    [status],
  );
  if (status !== "signedIn") return <SignInPrompt to="see your notifications" />;

  async function markAllRead() {
    setProblem(null);
    try {
      await unwrap(api.POST("/v1/notifications/read", { body: {} }));
      setOlder([]);
      setCursor(undefined);
      inbox.reload();
      notificationsChanged();
    } catch (error) {
      setProblem(problemOf(error));
    }
  }
  async function showOlder() {
    setProblem(null);
    try {
      const page = (await unwrap(
        api.GET("/v1/notifications", { params: { query: { limit: 50, cursor: cursor ?? inbox.data?.next_cursor } } }),
      )) as Inbox;
      setOlder([...older, ...page.items]);
      setCursor(page.next_cursor ?? null);
    } catch (error) {
      setProblem(problemOf(error));
    }
  }

  const data = inbox.data;
  const items = data ? [...data.items, ...older] : [];
  const next = cursor === undefined ? data?.next_cursor : cursor;
  const now = Date.now();
  return (
    <section class="narrow">
      <h1>Notifications</h1>
      {inbox.problem ? <ProblemMessage problem={inbox.problem} /> : null}
      {problem ? <ProblemMessage problem={problem} /> : null}
      {!data ? (
        inbox.problem ? null : <Loading what="your notifications" />
      ) : items.length === 0 ? (
        <Empty>No notifications yet: you hear here when your continuations finish or someone continues your scenes.</Empty>
      ) : (
        <>
          <p class="meta">
            {data.unread_count} unread{" "}
            {data.unread_count ? (
              <button type="button" class="secondary" onClick={() => void markAllRead()}>
                Mark all read
              </button>
            ) : null}
          </p>
          <ul class="notifications">
            {items.map((note) => {
              const { text, href, link } = describeNotification(note);
              return (
                <li key={note.id} class={note.read ? "" : "unread"}>
                  {note.read ? null : <span class="visually-hidden">Unread: </span>}
                  {text} {href ? <Link href={href}>{link ?? "Open"}</Link> : null}
                  <div class="meta">
                    <time dateTime={note.created_at}>{timeAgo(note.created_at, now)}</time>
                  </div>
                </li>
              );
            })}
          </ul>
          {next ? (
            <button type="button" class="secondary" onClick={() => void showOlder()}>
              Show older notifications
            </button>
          ) : null}
        </>
      )}
    </section>
  );
}
