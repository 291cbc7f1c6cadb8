/** RFC 9457 problem details as a person reads them: a title and a sentence, never raw JSON. */

export interface FieldError {
  pointer: string;
  message: string;
}

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string | null;
  errors?: FieldError[] | null;
  [extra: string]: unknown;
}

const FALLBACK_TITLES: Record<number, string> = {
  0: "Can't reach Storyloom",
  401: "Please sign in",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  412: "Changed in the meantime",
  413: "Too large",
  422: "Please check what you entered",
  429: "Too many requests",
  500: "Something went wrong on our side",
  503: "Storyloom is busy",
};

/** Any error body (problem JSON, other JSON, text, nothing) turned into a Problem. */
export function toProblem(status: number, body: unknown): Problem {
  if (body && typeof body === "object" && "title" in body) {
    const p = body as Partial<Problem>;
    return { ...p, title: String(p.title), status: p.status ?? status } as Problem;
  }
  const title = FALLBACK_TITLES[status] ?? (status >= 500 ? FALLBACK_TITLES[500] : "Request failed");
  const detail = typeof body === "string" && body.length < 300 && !body.startsWith("<") ? body : null;
  return { title, status, detail };
}

/** A network failure (offline, server down) as a problem the page can show. */
export function networkProblem(error: unknown): Problem {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    title: FALLBACK_TITLES[0],
    status: 0,
    detail: `Check your connection and try again (${reason}).`,
  };
}

/** Thrown by API helpers so pages can catch one kind of failure. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.title}${problem.detail ? `: ${problem.detail}` : ""}`);
  }
}

/** The error messages for one field of a form, by JSON pointer ("/text", "/bible/characters/0"). */
export function fieldErrors(problem: Problem | null, pointer: string): string[] {
  return (problem?.errors ?? [])
    .filter((e) => e.pointer === pointer || e.pointer.startsWith(`${pointer}/`))
    .map((e) => e.message);
}
