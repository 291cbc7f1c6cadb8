"""The verified-token cache: a polled token is checked once, and never outlives its expiry."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from infra.security import InvalidToken, VerifiedTokens, issue_access_token
from infra.settings import Settings


def test_a_cached_token_serves_only_until_its_expiry(settings: Settings) -> None:
    tokens = VerifiedTokens(settings)
    user = uuid.uuid4()
    token, _ = issue_access_token(settings, user, "user")
    first = tokens.decode(token)
    assert tokens.decode(token) is first and first.user_id == user
    # An entry past its expiry is not trusted: the token is verified again.
    past = replace(first, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    tokens._claims[token] = past
    again = tokens.decode(token)
    assert again is not past and again == first


def test_a_forged_token_is_never_cached(settings: Settings) -> None:
    tokens = VerifiedTokens(settings)
    token, _ = issue_access_token(settings, uuid.uuid4(), "admin")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            tokens.decode(forged)
    assert forged not in tokens._claims


def test_the_cache_is_bounded(settings: Settings) -> None:
    tokens = VerifiedTokens(settings, size=3)
    issued = [issue_access_token(settings, uuid.uuid4(), "user")[0] for _ in range(5)]
    for token in issued:
        tokens.decode(token)
        time.sleep(0)
    assert list(tokens._claims) == issued[-3:]
