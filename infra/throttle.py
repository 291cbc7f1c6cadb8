"""Failed sign-in counters in Redis, per account and per client address.

The same counters limit other attempts on an account, under another `kind`: password-reset
mails asked for count every request (none is ever given back).

Each attempt reserves one failure on both counters *before* the password is checked, in one
atomic step, so parallel guesses cannot all slip past a check made while the others were still
hashing. A success gives the reservation back: the account counter is cleared and the address
counter decremented, so only failures stay counted. A counter lives for one window from its
first failure (a fixed window), and while it is at its limit every attempt is refused.

Keys hold a digest of the normalized login, never the login itself, and are namespaced so that
runs sharing one Redis (tests, staging) never see each other's counters.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

# KEYS: account counter, address counter. ARGV: account limit, address limit, window (ms).
# Leaves in `wait` the milliseconds until the fullest counter at its limit expires, else 0; a
# counter at its limit that lost its expiry is given one, so it cannot refuse forever.
_FULLEST_WAIT = """
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2])}
local wait = 0
for i = 1, 2 do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= limits[i] then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      redis.call('PEXPIRE', KEYS[i], ARGV[3])
      ttl = tonumber(ARGV[3])
    end
    if ttl > wait then wait = ttl end
  end
end
"""
# Returns the wait when refused, else 0 after reserving one failure on both counters.
_RESERVE = (
    _FULLEST_WAIT
    + """
if wait > 0 then return wait end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 0
"""
)
_WAIT = _FULLEST_WAIT + "return wait\n"

# KEYS: account counter, address counter. Only a live address counter is given one back, so
# an expired key is never recreated without its expiry.
_SUCCEED = """
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 and tonumber(redis.call('GET', KEYS[2])) > 0 then
  redis.call('DECR', KEYS[2])
end
return 0
"""


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failed sign-ins an account and an address may have within one window."""

    account_limit: int
    address_limit: int
    window_seconds: int


def normalize_login(login: str) -> str:
    """The account identifier as lookups see it, so `Mara` and ` mara ` share one counter."""
    return login.strip().lower()


def _seconds(milliseconds: int) -> int:
    return max(1, math.ceil(milliseconds / 1000))


class LoginThrottle:
    """Counts failed sign-ins; every method answers a Retry-After in seconds, or 0."""

    def __init__(
        self, redis: Any, namespace: str, policy: ThrottlePolicy, kind: str = "login-failures"
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.policy = policy
        self.kind = kind

    def _keys(self, login: str, address: str) -> list[str]:
        account = hashlib.sha256(normalize_login(login).encode("utf-8", "surrogatepass"))
        where = hashlib.sha256(address.encode("utf-8", "surrogatepass"))
        base = f"{self.namespace}:{self.kind}"
        return [f"{base}:account:{account.hexdigest()}", f"{base}:address:{where.hexdigest()}"]

    async def reserve(self, login: str, address: str) -> int:
        """Count this attempt as a failure up front; a non-zero answer means refuse it."""
        return await self._retry_after(_RESERVE, login, address)

    async def failed(self, login: str, address: str) -> int:
        """After a wrong password: how long to refuse from now on (0 while under the limits)."""
        return await self._retry_after(_WAIT, login, address)

    async def _retry_after(self, script: str, login: str, address: str) -> int:
        policy = self.policy
        wait = int(
            await self.redis.eval(
                script,
                2,
                *self._keys(login, address),
                policy.account_limit,
                policy.address_limit,
                policy.window_seconds * 1000,
            )
        )
        return _seconds(wait) if wait > 0 else 0

    async def succeeded(self, login: str, address: str) -> None:
        """A right password: clear the account's failures, give the address its attempt back."""
        await self.redis.eval(_SUCCEED, 2, *self._keys(login, address))
