/** A notification in words (no DOM: unit-tested in web/test/notifications.test.ts). */

import type { Schemas } from "../api/client";

type Note = Pick<Schemas["NotificationOut"], "type" | "data">;

const ACTIONS: Record<string, string> = { hide: "hid", remove: "removed", ban_user: "suspended you over" };

/** One notification as a sentence and, where there is one, a link to what it is about. */
export function describeNotification(note: Note): { text: string; href?: string; link?: string } {
  const d = note.data as Record<string, string | number | null | undefined>;
  const scene = d.scene_id ? `/scenes/${d.scene_id}` : undefined;
  switch (note.type) {
    case "job.final_ready":
      return { text: `Your continuation is ready: it is part ${d.sequence} of the scene.`, href: scene, link: "Watch it" };
    case "job.failed":
      return {
        text: `Your continuation failed${d.error_message ? `: ${d.error_message}` : "."}`,
        href: d.job_id ? `/jobs/${d.job_id}` : undefined,
        link: "See the job",
      };
    case "scene.continued":
      return { text: `Someone continued your scene with part ${d.sequence}.`, href: scene, link: "Watch it" };
    case "moderation.action": {
      const verb = ACTIONS[String(d.action)] ?? `took action (${d.action}) on`;
      const target = String(d.target_type ?? "content");
      return {
        text: `A moderator ${verb} your ${target}.`,
        href: target === "scene" ? `/scenes/${d.target_id}` : undefined,
        link: "See the scene",
      };
    }
    case "proposal.decided":
      return {
        text:
          `Your topic proposal “${d.name}” was ${d.status}.` + (d.rejection_reason ? ` Reason: ${d.rejection_reason}` : ""),
      };
    case "webhook.disabled":
      return { text: `Your webhook to ${d.url} was turned off. ${d.reason ?? ""}`.trim(), href: "/account", link: "Your account" };
    default:
      return { text: `Something happened: ${note.type}.` };
  }
}
