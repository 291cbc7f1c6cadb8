"""Ideas on the wire."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Response

from api.presenters.wire import WireFields, wire_response
from schemas.ideas import IdeaOut

_IDEA_FIELDS = WireFields(IdeaOut)


def idea_page_response(rows: Sequence[Any], next_cursor: str | None) -> Response:
    """A page of rows of IdeaOut's columns as the route's Page[IdeaOut]."""
    items = [_IDEA_FIELDS.of(row) for row in rows]
    return wire_response({"items": items, "next_cursor": next_cursor})
