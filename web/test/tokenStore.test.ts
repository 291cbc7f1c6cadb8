import { describe, expect, it } from "vitest";
import { TokenStore, type KeyValueStore } from "../src/auth/tokenStore";

class MemoryStore implements KeyValueStore {
  data = new Map<string, string>();
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.data.set(k, v);
  }
  removeItem(k: string) {
    this.data.delete(k);
  }
}

/** A fake server: valid access tokens, rotating refresh tokens, a dead token kills the session. */
function server() {
  const state = { valid: new Set(["a1"]), refresh: "r1", refreshCalls: 0, requests: [] as string[], refreshDelay: 5 };
  let n = 1;
  const fetcher = async (request: Request): Promise<Response> => {
    const url = new URL(request.url, "http://x");
    if (url.pathname === "/v1/auth/refresh") {
      state.refreshCalls++;
      const { refresh_token } = (await request.json()) as { refresh_token: string };
      await new Promise((r) => setTimeout(r, state.refreshDelay));
      if (refresh_token !== state.refresh) return new Response(JSON.stringify({ title: "Session ended", status: 401 }), { status: 401 });
      n++;
      state.refresh = `r${n}`;
      state.valid = new Set([`a${n}`]);
      return Response.json({ access_token: `a${n}`, refresh_token: `r${n}`, token_type: "bearer", expires_in: 900 });
    }
    const auth = request.headers.get("Authorization") ?? "";
    state.requests.push(`${url.pathname} ${auth}`);
    if (!state.valid.has(auth.replace("Bearer ", ""))) return new Response("{}", { status: 401 });
    return Response.json({ ok: true, body: request.method === "POST" ? await request.text() : null });
  };
  return { state, fetcher };
}

const pair = (a: string, r: string, expires_in = 900) => ({ access_token: a, refresh_token: r, expires_in });

describe("TokenStore", () => {
  it("sends the access token while it is fresh, without refreshing", async () => {
    const { state, fetcher } = server();
    const store = new TokenStore(fetcher, new MemoryStore(), Date.now, "http://x");
    store.signIn(pair("a1", "r1"));
    const r = await store.fetch(new Request("http://x/v1/users/me"));
    expect(r.status).toBe(200);
    expect(state.refreshCalls).toBe(0);
    expect(state.requests).toEqual(["/v1/users/me Bearer a1"]);
  });

  it("refreshes once for many parallel requests when the token is about to expire", async () => {
    const { state, fetcher } = server();
    let now = 1_000_000;
    const store = new TokenStore(fetcher, new MemoryStore(), () => now, "http://x");
    store.signIn(pair("a1", "r1", 60));
    now += 45_000; // inside the early-refresh window
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.fetch(new Request(`http://x/v1/things/${i}`))),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(state.refreshCalls).toBe(1);
    expect(new Set(state.requests.map((r) => r.split(" ").pop()))).toEqual(new Set(["a2"]));
  });

  it("a 401 on a request refreshes and retries it once, body and all", async () => {
    const { state, fetcher } = server();
    const store = new TokenStore(fetcher, new MemoryStore(), Date.now, "http://x");
    store.signIn(pair("a1", "r1"));
    state.valid = new Set(); // the server stopped accepting a1 (e.g. a key rotation)
    const r = await store.fetch(new Request("http://x/v1/ideas", { method: "POST", body: '{"title":"t"}' }));
    expect(r.status).toBe(200);
    expect(((await r.json()) as { body: string }).body).toBe('{"title":"t"}');
    expect(state.refreshCalls).toBe(1);
    expect(state.requests).toEqual(["/v1/ideas Bearer a1", "/v1/ideas Bearer a2"]);
  });

  it("parallel 401s share one refresh (a refresh token is never sent twice)", async () => {
    const { state, fetcher } = server();
    const store = new TokenStore(fetcher, new MemoryStore(), Date.now, "http://x");
    store.signIn(pair("a1", "r1"));
    state.valid = new Set();
    const answers = await Promise.all([1, 2, 3].map((i) => store.fetch(new Request(`http://x/v1/n/${i}`))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(state.refreshCalls).toBe(1);
  });

  it("a dead refresh token signs out as expired and tells the listeners", async () => {
    const { state, fetcher } = server();
    const storage = new MemoryStore();
    const store = new TokenStore(fetcher, storage, Date.now, "http://x");
    store.signIn(pair("a1", "r-stolen-and-used"));
    const statuses: string[] = [];
    store.subscribe((s) => statuses.push(s));
    state.valid = new Set();
    const r = await store.fetch(new Request("http://x/v1/users/me"));
    expect(r.status).toBe(401);
    expect(store.status).toBe("expired");
    expect(store.signedIn).toBe(false);
    expect(statuses).toEqual(["expired"]);
    expect(storage.data.size).toBe(0);
    // Later requests go out anonymously and do not try to refresh again.
    await store.fetch(new Request("http://x/v1/scenes"));
    expect(state.refreshCalls).toBe(1);
    expect(state.requests.at(-1)).toBe("/v1/scenes ");
  });

  it("adopts a pair another tab rotated instead of replaying the old refresh token", async () => {
    const { state, fetcher } = server();
    const storage = new MemoryStore();
    let now = 0;
    const tabA = new TokenStore(fetcher, storage, () => now, "http://x");
    tabA.signIn(pair("a1", "r1", 60));
    const tabB = new TokenStore(fetcher, storage, () => now, "http://x");
    now = 50_000;
    await tabB.fetch(new Request("http://x/v1/one")); // tab B rotates r1 -> r2
    expect(state.refreshCalls).toBe(1);
    // Tab A still holds r1 in memory; it must pick up r2 from storage rather than replay r1.
    const r = await tabA.fetch(new Request("http://x/v1/two"));
    expect(r.status).toBe(200);
    expect(tabA.status).toBe("signedIn");
    expect(state.refreshCalls).toBe(1);
  });

  it("keeps the session through a refresh that fails for a server reason", async () => {
    let now = 0;
    const store = new TokenStore(
      async (request) =>
        new URL(request.url).pathname === "/v1/auth/refresh" ? new Response("", { status: 503 }) : Response.json({}),
      new MemoryStore(),
      () => now,
      "http://x",
    );
    store.signIn(pair("a1", "r1", 60));
    now = 40_000;
    expect(await store.accessToken()).toBe("a1");
    expect(store.status).toBe("signedIn");
  });

  it("restores the session from storage on load", () => {
    const storage = new MemoryStore();
    new TokenStore(async () => new Response(), storage).signIn(pair("a9", "r9"));
    const again = new TokenStore(async () => new Response(), storage);
    expect(again.signedIn).toBe(true);
    expect(again.refreshToken).toBe("r9");
  });
});
