/**
 * Reapply an editor's change on top of a bible that moved on: a three-way merge of JSON values
 * (base -> mine vs base -> current), the same rules as the server's domain/bible/merge.py.
 *
 * Objects merge key by key. Lists merge item by item, items matched by identity (characters by
 * entityId, plot threads by id, locations by name, timeline events by segmentNumber + event, any
 * other list by content). A change on one side is applied; the same change on both is applied
 * once; different changes to one value, or a change to something the other side removed, are
 * conflicts: the current value stays and the conflict is reported so the editor can decide.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface MergeConflict {
  /** JSON pointer into the merged document (list items by their index there, or in mine). */
  pointer: string;
  base: Json | undefined;
  mine: Json | undefined;
  current: Json | undefined;
}

export interface MergeResult {
  merged: Json;
  conflicts: MergeConflict[];
}

const MISSING = undefined;

function isObject(v: unknown): v is { [key: string]: Json } {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Canonical text of a value (keys sorted), for equality and content identity. */
export function canonical(v: Json | undefined): string {
  if (v === undefined) return "\u0000missing";
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

function same(a: Json | undefined, b: Json | undefined): boolean {
  return canonical(a) === canonical(b);
}

function escape(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

function field(name: string) {
  return (item: Json) => (isObject(item) && typeof item[name] === "string" ? `${name}:${item[name]}` : null);
}

/** How list items are matched across versions, by the list's key in its parent. */
const IDENTITY: Record<string, (item: Json) => string | null> = {
  characters: field("entityId"),
  plotThreads: field("id"),
  locations: field("name"),
  majorEvents: (item) => (isObject(item) ? `event:${canonical(item.segmentNumber)}:${canonical(item.event)}` : null),
};

function identityFor(key: string): (item: Json) => string {
  const named = IDENTITY[key];
  return (item) => named?.(item) ?? `content:${canonical(item)}`;
}

class Merger {
  conflicts: MergeConflict[] = [];

  value(pointer: string, key: string, base: Json | undefined, mine: Json | undefined, current: Json | undefined): Json | undefined {
    if (same(mine, current)) return current;
    if (same(base, mine)) return current;
    if (same(base, current)) return mine;
    if (isObject(base) && isObject(mine) && isObject(current)) return this.object(pointer, base, mine, current);
    if (Array.isArray(base) && Array.isArray(mine) && Array.isArray(current)) {
      return this.list(pointer, key, base, mine, current);
    }
    this.conflicts.push({ pointer: pointer || "/", base, mine, current });
    return current;
  }

  object(pointer: string, base: { [k: string]: Json }, mine: { [k: string]: Json }, current: { [k: string]: Json }): Json {
    const out: { [k: string]: Json } = {};
    const keys = [...Object.keys(current)];
    for (const k of Object.keys(mine)) if (!keys.includes(k)) keys.push(k);
    for (const k of Object.keys(base)) if (!keys.includes(k)) keys.push(k);
    for (const k of keys) {
      const merged = this.value(`${pointer}/${escape(k)}`, k, base[k], mine[k], current[k]);
      if (merged !== MISSING) out[k] = merged;
    }
    return out;
  }

  list(pointer: string, key: string, base: Json[], mine: Json[], current: Json[]): Json[] {
    const id = identityFor(key);
    const index = (items: Json[]) => new Map(items.map((item) => [id(item), item] as const));
    const [b, m, c] = [index(base), index(mine), index(current)];
    // Current's order first, then my additions in my order; what either side removed goes.
    const order = [...c.keys()];
    for (const k of m.keys()) if (!c.has(k) && !b.has(k)) order.push(k);
    const out: Json[] = [];
    for (const k of order) {
      const at = `${pointer}/${out.length}`;
      const merged = this.value(at, "", b.get(k), m.get(k), c.get(k));
      if (merged !== MISSING) out.push(merged);
    }
    // My edit to an item the current version removed: a conflict (the removal stands).
    mine.forEach((item, i) => {
      const k = id(item);
      if (b.has(k) && !c.has(k) && !same(b.get(k), item)) {
        this.conflicts.push({ pointer: `${pointer}/${i}`, base: b.get(k), mine: item, current: MISSING });
      }
    });
    if (key === "majorEvents") {
      out.sort((x, y) => Number(isObject(x) ? x.segmentNumber : 0) - Number(isObject(y) ? y.segmentNumber : 0));
    }
    return out;
  }
}

/** Applies base -> mine onto current. Conflicting values keep current's and are listed. */
export function reapply(base: Json, mine: Json, current: Json): MergeResult {
  const merger = new Merger();
  const merged = merger.value("", "", base, mine, current);
  return { merged: merged === MISSING ? {} : merged, conflicts: merger.conflicts };
}

/** Sets the value at a pointer of `doc` (a copy), for taking "mine" on a conflict. */
export function setAt(doc: Json, pointer: string, value: Json | undefined): Json {
  const copy = JSON.parse(JSON.stringify(doc)) as Json;
  const tokens = pointer
    .split("/")
    .slice(1)
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (!tokens.length || (tokens.length === 1 && tokens[0] === "")) return value ?? {};
  let node: Json = copy;
  for (const token of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(node) ? node[Number(token)] : isObject(node) ? node[token] : undefined;
    if (next === undefined || next === null || typeof next !== "object") return copy;
    node = next;
  }
  const last = tokens[tokens.length - 1];
  if (Array.isArray(node)) {
    const i = Number(last);
    if (value === undefined) node.splice(i, 1);
    else if (i >= node.length) node.push(value);
    else node[i] = value;
  } else if (isObject(node)) {
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  return copy;
}
