/** The signed-in user for components: status from the token store, profile from /v1/users/me. */

import { useEffect, useState } from "preact/hooks";
import { api, tokens, unwrap, type Schemas } from "../api/client";
import type { AuthStatus } from "./tokenStore";

export type Me = Schemas["Me"];

let cachedMe: Me | null = null;
const meListeners = new Set<(me: Me | null) => void>();

/** Loads (or reloads) the profile and tells every component using the session. */
export async function loadMe(): Promise<Me | null> {
  cachedMe = tokens.signedIn ? await unwrap(api.GET("/v1/users/me")).catch(() => null) : null;
  for (const listener of meListeners) listener(cachedMe);
  return cachedMe;
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
    if (tokens.signedIn && !cachedMe) void loadMe();
    return () => {
      offStatus();
      meListeners.delete(setMe);
    };
  }, []);
  return { status, me };
}
