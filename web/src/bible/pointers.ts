/** Where the API's bible errors belong: at a form field, or beside the JSON editor. */

import type { FieldError, Problem } from "../api/problem";

export type { FieldError };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Bible = Record<string, any>;

/** The problem's field errors under `prefix` ("/bible", "/data"), by pointer inside the bible. */
export function bibleErrors(problem: Problem | null, prefix: string): FieldError[] {
  const out: FieldError[] = [];
  for (const e of problem?.errors ?? []) {
    for (const p of [prefix, `/body${prefix}`]) {
      if (e.pointer === p || e.pointer.startsWith(`${p}/`)) out.push({ pointer: e.pointer.slice(p.length) || "/", message: e.message });
    }
  }
  return out;
}

/** The pointers the form shows, so every other error goes beside the JSON editor. */
export function formPointers(bible: Bible): string[] {
  const pointers = ["/characters", "/setting/primaryLocation", "/setting/timePeriod", "/styleGuide/tone", "/styleGuide/genre", "/styleGuide/visualStyle"];
  (bible.characters ?? []).forEach((_: unknown, i: number) => {
    pointers.push(`/characters/${i}/canonicalName`, `/characters/${i}/description`, `/characters/${i}/isActive`, `/characters/${i}`);
  });
  (bible.plotThreads ?? []).forEach((_: unknown, i: number) => {
    pointers.push(`/plotThreads/${i}/description`, `/plotThreads/${i}/status`, `/plotThreads/${i}`);
  });
  return pointers;
}

/** The errors no form field shows (they go beside the JSON editor). */
export function elsewhere(errors: FieldError[], bible: Bible): FieldError[] {
  const shown = formPointers(bible);
  return errors.filter((e) => !shown.includes(e.pointer));
}
