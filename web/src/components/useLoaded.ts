/** Runs one request for a component and keeps its result or problem. */

import { useEffect, useState } from "preact/hooks";
import { problemOf } from "../api/client";
import type { Problem } from "../api/problem";

export interface Loaded<T> {
  data: T | null;
  problem: Problem | null;
}

/**
 * Every useLoaded of a page starts its request on the first render, so a page's calls run in
 * parallel; `reload()` runs it again, keeping the old data on screen meanwhile.
 */
export function useLoaded<T>(
  load: () => Promise<T>,
  deps: unknown[] = [],
): Loaded<T> & { reload: () => void; set: (data: T) => void } {
  const [state, setState] = useState<Loaded<T>>({ data: null, problem: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data, problem: null }),
      (error) => live && setState((old) => ({ data: old.data, problem: problemOf(error) })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return {
    ...state,
    reload: () => setTick((t) => t + 1),
    set: (data: T) => setState({ data, problem: null }),
  };
}
