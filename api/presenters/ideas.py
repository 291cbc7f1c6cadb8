"""Ideas on the wire."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from fastapi import Response

from api.presenters.wire import WireFields, wire_response
from schemas.ideas import IdeaOut

_IDEA_FIELDS = WireFields(IdeaOut)


def idea_page_response(rows: Sequence[asyncpg.Record], next_cursor: str | None) -> Response:
    """A page of records of IdeaOut's columns, in its order, as the route's Page[IdeaOut]."""
    items = _IDEA_FIELDS.records(rows)
    return wire_response({"items": items, "next_cursor": next_cursor})
