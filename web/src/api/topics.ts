/** Every active topic, page after page: the nav and the idea form offer all of them, not the first page. */

import { api, unwrap, type Schemas } from "./client";

export type Topic = Schemas["TopicOut"];

export interface TopicPage {
  items: Topic[];
  next_cursor?: string | null;
}

/** Follows `next_cursor` to the end; `limit` pages keep a runaway cursor from looping for ever. */
export async function collectPages(
  load: (cursor: string | null) => Promise<TopicPage>,
  limit = 50,
): Promise<Topic[]> {
  const items: Topic[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < limit; page++) {
    const next: TopicPage = await load(cursor);
    items.push(...next.items);
    cursor = next.next_cursor ?? null;
    if (!cursor) break;
  }
  return items;
}

export function allTopics(): Promise<Topic[]> {
  return collectPages((cursor) => unwrap(api.GET("/v1/topics", { params: { query: { limit: 100, cursor } } })));
}
