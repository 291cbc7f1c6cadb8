/** RFC 6902 operations between two bible versions, as sentences a writer reads. */

export interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

export interface DiffLine {
  kind: "added" | "removed" | "changed" | "moved";
  where: string;
  before?: string;
  after?: string;
}

const FIELD_NAMES: Record<string, string> = {
  characters: "Characters",
  canonicalName: "name",
  plotThreads: "Plot threads",
  setting: "Setting",
  timeline: "Timeline",
  majorEvents: "events",
  currentPoint: "current point",
  primaryLocation: "primary location",
  timePeriod: "time period",
  worldRules: "world rules",
  styleGuide: "Style guide",
  isActive: "active",
  introducedInSegment: "introduced in segment",
};

function decode(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** A name for a list item: its canonical name, name, description or id. */
function itemName(item: unknown): string | null {
  if (!item || typeof item !== "object") return null;
  const o = item as Record<string, unknown>;
  for (const key of ["canonicalName", "name", "title", "event", "description", "id", "entityId"]) {
    if (typeof o[key] === "string" && o[key]) {
      const s = o[key] as string;
      return s.length > 40 ? `${s.slice(0, 37)}…` : s;
    }
  }
  return null;
}

function humanize(key: string): string {
  return FIELD_NAMES[key] ?? key.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase();
}

/** "/characters/0/traits/1" in `doc` -> "Characters › Mara Hart › traits › 2". */
export function describePath(path: string, doc: unknown, value?: unknown): string {
  const tokens = path.split("/").slice(1).map(decode);
  const parts: string[] = [];
  let node: unknown = doc;
  tokens.forEach((token, i) => {
    const isLast = i === tokens.length - 1;
    if (Array.isArray(node) && /^\d+$|^-$/.test(token)) {
      const item = token === "-" ? undefined : node[Number(token)];
      const name = itemName(item) ?? (isLast ? itemName(value) : null);
      parts.push(name ?? `#${token === "-" ? node.length + 1 : Number(token) + 1}`);
      node = item;
    } else {
      parts.push(humanize(token));
      node = node && typeof node === "object" ? (node as Record<string, unknown>)[token] : undefined;
    }
  });
  return parts.join(" › ") || "the whole bible";
}

function valueAt(doc: unknown, path: string): unknown {
  let node = doc;
  for (const token of path.split("/").slice(1).map(decode)) {
    if (node === null || typeof node !== "object") return undefined;
    node = Array.isArray(node) ? node[Number(token)] : (node as Record<string, unknown>)[token];
  }
  return node;
}

/** A value in a few words: text quoted, lists and objects summarized. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `“${value}”`;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number" || value === null) return String(value);
  if (Array.isArray(value)) {
    const names = value.map((v) => itemName(v) ?? (typeof v === "string" ? v : null)).filter(Boolean);
    return names.length === value.length ? names.join(", ") || "an empty list" : `${value.length} items`;
  }
  return itemName(value) ? `“${itemName(value)}”` : JSON.stringify(value).slice(0, 80);
}

/** The patch from `before` (the older version's data) as lines. */
export function readableDiff(patch: PatchOp[], before: unknown): DiffLine[] {
  return patch
    // The version number changes in every pair of versions: the header already says which two.
    .filter((op) => op.op !== "test" && op.path !== "/version")
    .map((op): DiffLine => {
      const where = describePath(op.path, before, op.value);
      if (op.op === "add") {
        // A new list item is already named by its label ("events › Tom drowns."): say it once.
        const named = itemName(op.value);
        return named && where.endsWith(named) ? { kind: "added", where } : { kind: "added", where, after: show(op.value) };
      }
      if (op.op === "remove") return { kind: "removed", where, before: show(valueAt(before, op.path)) };
      if (op.op === "replace") {
        return { kind: "changed", where, before: show(valueAt(before, op.path)), after: show(op.value) };
      }
      return { kind: "moved", where, before: describePath(op.from ?? "", before) };
    });
}
