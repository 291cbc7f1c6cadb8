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
      {/* Drawn, not an emoji: a machine without an emoji font would show an empty box. */}
      <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="currentColor">
        <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" />
      </svg>
      {unread ? (
        <span class="badge" aria-hidden="true">
          {unread > 99 ? "99+" : unread}
        </span>
      ) : null}
    </Link>
  );
}
