/** The one way pages call the API: typed paths from the OpenAPI document, tokens attached. */

import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { TokenStore } from "../auth/tokenStore";
import { ApiError, networkProblem, toProblem, type Problem } from "./problem";

export type Schemas = components["schemas"];

const browserStorage = typeof localStorage === "undefined" ? null : localStorage;

export const tokens = new TokenStore((request) => fetch(request), browserStorage);

export const api = createClient<paths>({
  baseUrl: "",
  fetch: (request: Request) => tokens.fetch(request),
});

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Awaits an openapi-fetch call: the data, or an ApiError carrying the problem in words. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(networkProblem(error));
  }
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(toProblem(result.response.status, result.error));
  }
  return result.data as T;
}

/** The Problem of any caught error (ApiError or anything else). */
export function problemOf(error: unknown): Problem {
  if (error instanceof ApiError) return error.problem;
  return networkProblem(error);
}

/** A fetch with the session's token for the routes openapi-fetch does not fit (SSE streams). */
export function authedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  return tokens.fetch(new Request(path, init));
}
