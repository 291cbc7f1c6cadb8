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
  /** Set when the problem is in the text itself: the words, with offsets into the sent text. */
  entity?: string;
  sentence?: string;
  words?: string;
  start?: number;
  end?: number;
}

/** Continuity violations a failed job carries in result_data, if any. */
export function violationsOf(result: Record<string, unknown> | null | undefined): Violation[] {
  const list = result?.violations;
  return Array.isArray(list) ? (list as Violation[]).filter((v) => v && typeof v.message === "string") : [];
}

function hasOffsets(v: Violation): v is Violation & { start: number; end: number } {
  return typeof v.start === "number" && typeof v.end === "number" && v.end > v.start;
}

/** The names a violation quotes ('Bob' is neither a character...), to mark in the writer's text.
 *  A violation that carries offsets is marked by them instead (its message quotes a sentence). */
export function quotedNames(violations: Violation[]): string[] {
  const names = new Set<string>();
  for (const v of violations) {
    if (hasOffsets(v)) continue;
    for (const m of v.message.matchAll(/'([^']+)'|"([^"]+)"/g)) names.add(m[1] ?? m[2]);
  }
  return [...names];
}

/** [start, end) of the words that broke the bible, in `text` as the writer typed it (the API
 *  trims leading spaces before it counts); a span whose words do not match is dropped. */
export function textSpans(text: string, violations: Violation[]): [number, number][] {
  const shift = text.length - text.trimStart().length;
  const spans: [number, number][] = [];
  for (const v of violations) {
    if (!hasOffsets(v)) continue;
    const [start, end] = [v.start + shift, v.end + shift];
    if (end <= text.length && (v.words === undefined || text.slice(start, end) === v.words)) spans.push([start, end]);
  }
  return spans;
}

/** Splits text into plain and marked parts: the given spans, and wherever a name occurs (any case). */
export function markText(text: string, names: string[], spans: [number, number][] = []): { text: string; marked: boolean }[] {
  const marked = new Array<boolean>(text.length).fill(false);
  for (const [start, end] of spans) marked.fill(true, start, end);
  if (names.length) {
    const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).sort((a, b) => b.length - a.length);
    for (const m of text.matchAll(new RegExp(escaped.join("|"), "gi"))) marked.fill(true, m.index, m.index + m[0].length);
  }
  const parts: { text: string; marked: boolean }[] = [];
  for (let i = 0; i < text.length; ) {
    let j = i;
    while (j < text.length && marked[j] === marked[i]) j++;
    parts.push({ text: text.slice(i, j), marked: marked[i] });
    i = j;
  }
  return parts;
}

/** Splits text into plain and marked parts wherever one of the names occurs (case-insensitive). */
export function markNames(text: string, names: string[]): { text: string; marked: boolean }[] {
  return markText(text, names);
}
