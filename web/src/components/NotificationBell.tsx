/** The header's bell: how many notifications are unread, linking to /notifications. */

import { useEffect } from "preact/hooks";
import { api, unwrap, type Schemas } from "../api/client";
import { Link, useLocation } from "../app/router";
import { useLoaded } from "./useLoaded";

const CHANGED = "storyloom:notifications";
const POLL_MS = 60_000;

/** Tell the bell to count again (after marking read, or when a job of ours finished). */
export function notificationsChanged(): void {
  window.dispatchEvent(new Event(CHANGED));
}

export function NotificationBell() {
  const { path } = useLocation();
  const inbox = useLoaded(
    () => unwrap(api.GET("/v1/notifications", { params: { query: { limit: 1 } } })) as Promise<Schemas["NotificationPage"]>,
    [path], // counted again on every navigation
  );
  useEffect(() => {
    const again = () => document.visibilityState === "visible" && inbox.reload();
    window.addEventListener(CHANGED, inbox.reload);
    const timer = setInterval(again, POLL_MS);
    return () => {
      window.removeEventListener(CHANGED, inbox.reload);
      clearInterval(timer);
    };
  }, []);
  const unread = inbox.data?.unread_count ?? 0;
  return (
    <Link
      href="/notifications"
      class="bell"
      aria-label={unread ? `Notifications, ${unread} unread` : "Notifications"}
    >
      <span aria-hidden="true">🔔</span>
      {unread ? (
        <span class="badge" aria-hidden="true">
          {unread > 99 ? "99+" : unread}
        </span>
      ) : null}
    </Link>
  );
}
