/** Job statuses, stages and failure codes as a person says them. */

export const STATUS_WORDS: Record<string, string> = {
  queued: "Waiting in line",
  processing: "Writing the script",
  script_ready: "Script written",
  continuity_checked: "Checked against the story so far",
  preview_ready: "Preview ready",
  final_ready: "Ready to watch",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const STAGE_WORDS: Record<string, string> = {
  pending: "Waiting to start",
  script_expansion: "Turning your text into a script",
  continuity_validation: "Checking it against the scene's bible",
  video_generation: "Making the video",
  upload: "Storing the video",
  finalization: "Adding it to the scene",
  completed: "Done",
  error: "Stopped",
};

export const FAILURE_WORDS: Record<string, string> = {
  continuity_violation: "Your continuation contradicts the story so far.",
  bible_conflict: "Someone else continued the scene at the same moment; please try again.",
  content_policy: "Your text was not accepted by the content rules.",
  provider_unavailable: "The video service was unavailable.",
  provider_rejected: "The video service refused this text.",
  database_unavailable: "Storyloom had a storage hiccup.",
  media_error: "Making the video failed.",
  scene_closed: "The scene was locked or removed while your continuation was being made.",
  internal_error: "Something went wrong on our side.",
  cancelled: "Cancelled.",
};

export interface Violation {
  pointer: string;
  message: string;
  rule?: string;
}

/** Continuity violations a failed job carries in result_data, if any. */
export function violationsOf(result: Record<string, unknown> | null | undefined): Violation[] {
  const list = result?.violations;
  return Array.isArray(list) ? (list as Violation[]).filter((v) => v && typeof v.message === "string") : [];
}

/** The names a violation quotes ('Bob' is neither a character...), to mark in the writer's text. */
export function quotedNames(violations: Violation[]): string[] {
  const names = new Set<string>();
  for (const v of violations) {
    for (const m of v.message.matchAll(/'([^']+)'|"([^"]+)"/g)) names.add(m[1] ?? m[2]);
  }
  return [...names];
}

/** Splits text into plain and marked parts wherever one of the names occurs (case-insensitive). */
export function markNames(text: string, names: string[]): { text: string; marked: boolean }[] {
  if (!names.length) return [{ text, marked: false }];
  const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(${escaped.join("|")})`, "gi");
  return text
    .split(pattern)
    .filter((part) => part !== "")
    .map((part) => ({ text: part, marked: names.some((n) => n.toLowerCase() === part.toLowerCase()) }));
}
