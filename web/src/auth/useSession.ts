/** The signed-in user for components: status from the token store, profile from /v1/users/me. */

import { useEffect, useState } from "preact/hooks";
import { api, tokens, unwrap, type Schemas } from "../api/client";
import type { AuthStatus } from "./tokenStore";

export type Me = Schemas["Me"];

let cachedMe: Me | null = null;
let loading: Promise<Me | null> | null = null;
const meListeners = new Set<(me: Me | null) => void>();

async function fetchMe(): Promise<Me | null> {
  cachedMe = tokens.signedIn ? await unwrap(api.GET("/v1/users/me")).catch(() => null) : null;
  for (const listener of meListeners) listener(cachedMe);
  return cachedMe;
}

/** Loads (or reloads) the profile and tells every component using the session. */
export function loadMe(): Promise<Me | null> {
  return fetchMe();
}

/** The first component asking loads the profile; the others share that one request. */
function ensureMe(): void {
  if (cachedMe || loading || !tokens.signedIn) return;
  loading = fetchMe().finally(() => {
    loading = null;
  });
}

tokens.subscribe((status) => {
  if (status !== "signedIn") {
    cachedMe = null;
    for (const listener of meListeners) listener(null);
  }
});

export function useSession(): { status: AuthStatus; me: Me | null } {
  const [status, setStatus] = useState<AuthStatus>(tokens.status);
  const [me, setMe] = useState<Me | null>(cachedMe);
  useEffect(() => {
    const offStatus = tokens.subscribe(setStatus);
    meListeners.add(setMe);
    // The profile may have arrived between this component's render and this effect: take it.
    setStatus(tokens.status);
    if (cachedMe) setMe(cachedMe);
    ensureMe();
    return () => {
      offStatus();
      meListeners.delete(setMe);
    };
  }, []);
  return { status, me };
}
