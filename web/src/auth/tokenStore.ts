/** The session's tokens: silent refresh with the rotating refresh token, one refresh at a time. */

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds when the access token stops working. */
  expiresAt: number;
}

/** signedOut: never signed in or signed out on purpose; expired: the session died under the user. */
export type AuthStatus = "signedIn" | "signedOut" | "expired";

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type Fetch = (input: Request) => Promise<Response>;

const STORAGE_KEY = "storyloom.session";
/** Refresh this long before expiry so a request never leaves with a token about to die. */
const EARLY_MS = 30_000;

export class SessionExpired extends Error {
  constructor() {
    super("Your session has ended. Please sign in again.");
  }
}

export class TokenStore {
  private session: Session | null;
  private refreshing: Promise<Session | null> | null = null;
  private listeners = new Set<(status: AuthStatus) => void>();
  status: AuthStatus;

  constructor(
    private readonly fetcher: Fetch,
    private readonly storage: KeyValueStore | null,
    private readonly now: () => number = Date.now,
    private readonly baseUrl = "",
  ) {
    this.session = this.load();
    this.status = this.session ? "signedIn" : "signedOut";
  }

  subscribe(listener: (status: AuthStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get signedIn(): boolean {
    return this.session !== null;
  }

  /** Stores a pair from login or refresh. */
  signIn(pair: TokenPair): void {
    this.save({
      accessToken: pair.access_token,
      refreshToken: pair.refresh_token,
      expiresAt: this.now() + pair.expires_in * 1000,
    });
    this.setStatus("signedIn");
  }

  /** Forgets the tokens; `expired` tells the page to prompt for a new sign-in. */
  signOut(status: "signedOut" | "expired" = "signedOut"): void {
    this.save(null);
    this.setStatus(status);
  }

  /** The refresh token, for logout. */
  get refreshToken(): string | null {
    return this.session?.refreshToken ?? null;
  }

  /** A usable access token (refreshed first when it is about to expire), or null when signed out. */
  async accessToken(): Promise<string | null> {
    this.adoptStored();
    const session = this.session;
    if (!session) return null;
    if (session.expiresAt - EARLY_MS > this.now()) return session.accessToken;
    const fresh = await this.refresh();
    return fresh?.accessToken ?? null;
  }

  /** Rotates the pair; parallel callers share one request (a second use of a refresh token kills the family). */
  refresh(): Promise<Session | null> {
    if (!this.refreshing) {
      this.refreshing = this.rotate().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** fetch with the bearer token; one refresh-and-retry when the server says the token is dead. */
  async fetch(request: Request): Promise<Response> {
    const retry = request.clone();
    const token = await this.accessToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    const response = await this.fetcher(request);
    if (response.status !== 401 || !token) return response;
    const fresh = await this.refresh();
    if (!fresh) return response;
    retry.headers.set("Authorization", `Bearer ${fresh.accessToken}`);
    return this.fetcher(retry);
  }

  private async rotate(): Promise<Session | null> {
    this.adoptStored();
    const before = this.session;
    if (!before) return null;
    const response = await this.fetcher(
      new Request(`${this.baseUrl}/v1/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: before.refreshToken }),
      }),
    );
    if (response.ok) {
      this.signIn((await response.json()) as TokenPair);
      return this.session;
    }
    if (response.status === 401 || response.status === 403) {
      // Another tab may have rotated the token a moment ago: its pair is still good.
      this.adoptStored();
      if (this.session && this.session.refreshToken !== before.refreshToken) return this.session;
      this.signOut("expired");
      return null;
    }
    // 429/5xx: keep the session, the next request tries again.
    return before.expiresAt > this.now() ? before : null;
  }

  private adoptStored(): void {
    const stored = this.load();
    if (stored && this.session && stored.refreshToken !== this.session.refreshToken) {
      this.session = stored;
    }
  }

  private load(): Session | null {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      return raw ? (JSON.parse(raw) as Session) : null;
    } catch {
      return null;
    }
  }

  private save(session: Session | null): void {
    this.session = session;
    try {
      if (session) this.storage?.setItem(STORAGE_KEY, JSON.stringify(session));
      else this.storage?.removeItem(STORAGE_KEY);
    } catch {
      // Private mode or a full quota: the session still lives in memory.
    }
  }

  private setStatus(status: AuthStatus): void {
    this.status = status;
    for (const listener of this.listeners) listener(status);
  }
}
