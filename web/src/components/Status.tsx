/** Loading, empty and error states that say what they are. */

import type { ComponentChildren } from "preact";
import type { Problem } from "../api/problem";

/** An API problem as words: its title, its detail and any field messages. */
export function ProblemMessage({ problem, children }: { problem: Problem; children?: ComponentChildren }) {
  return (
    <div class="problem" role="alert">
      <strong>{problem.title}</strong>
      {problem.detail ? <p>{problem.detail}</p> : null}
      {problem.errors && problem.errors.length > 0 ? (
        <ul>
          {problem.errors.map((e) => (
            <li key={e.pointer + e.message}>
              {fieldLabel(e.pointer)}: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {children}
    </div>
  );
}

/** "/body/display_name" or "/display_name" -> "display name". */
export function fieldLabel(pointer: string): string {
  const parts = pointer.split("/").filter((p) => p && p !== "body");
  return parts.length ? parts.join(" › ").replace(/_/g, " ") : "request";
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
