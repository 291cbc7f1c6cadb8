"""Keyset (cursor) pagination shared by every list.

A cursor is the opaque, URL-safe encoding of the sort key of the last item served. The next
page continues strictly after it, so inserts and deletes between pages never repeat or skip
an item that stays in the list.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import BindParameter, Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from domain.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

_ENCODERS: dict[type, tuple[str, Callable[[Any], Any]]] = {
    datetime: ("d", lambda v: v.isoformat()),
    uuid.UUID: ("u", str),
    bool: ("b", bool),
    int: ("i", int),
    float: ("f", float),
    str: ("s", str),
}
_BIGINT = 2**63


def _decode_datetime(value: str) -> datetime:
    # Every timestamp we sort on is timestamptz: a naive or unreachable one is not ours.
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a timestamp without a time zone")
    return moment.astimezone(UTC)


def _decode_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -_BIGINT <= value < _BIGINT:
        raise ValueError("not a 64-bit integer")
    return value


def _decode_str(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("not a text PostgreSQL can hold")
    return value


def _decode_uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError("not a UUID")
    return uuid.UUID(value)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "d": _decode_datetime,
    "u": _decode_uuid,
    "i": _decode_int,
    "f": float,
    "s": _decode_str,
    "b": bool,
}


def _encoder_for(value: Any) -> tuple[str, Callable[[Any], Any]]:
    # Drivers return subclasses (asyncpg's UUID), so match by isinstance, bool before int.
    for kind, encoder in _ENCODERS.items():
        if isinstance(value, kind):
            return encoder
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def encode_cursor(values: Sequence[Any]) -> str:
    parts = []
    for value in values:
        code, encode = _encoder_for(value)
        parts.append([code, encode(value)])
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid_cursor(message: str) -> InvalidInput:
    return InvalidInput(
        "The cursor is not valid for this list.", [{"pointer": "/cursor", "message": message}]
    )


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
        if not isinstance(parts, list) or len(parts) != width:
            raise ValueError("wrong width")
        return [_DECODERS[code](value) for code, value in parts]
    except (
        ValueError,
        KeyError,
        TypeError,
        OverflowError,
        binascii.Error,
        UnicodeDecodeError,
    ) as exc:
        raise _invalid_cursor("malformed or foreign cursor") from exc


def _of_type(value: Any, kind: type) -> bool:
    # bool is an int to Python, not to PostgreSQL.
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def key_types_of(keys: Sequence[ColumnElement[Any] | QueryableAttribute[Any]]) -> list[type]:
    """The Python types of the keys' SQL types: what a cursor of this list holds."""
    try:
        return [key.type.python_type for key in keys]
    except NotImplementedError as exc:  # a type with no Python counterpart: say it explicitly
        raise TypeError("pass key_types for keys of a SQL type without a Python type") from exc


def cursor_after(cursor: str | None, key_types: Sequence[type]) -> list[Any] | None:
    """The sort key a list's page continues after, refused (422) unless it has the list's types.

    A cursor of another list, or one crafted with the wrong types, would otherwise reach
    PostgreSQL as a comparison it refuses.
    """
    if not cursor:
        return None
    after = decode_cursor(cursor, len(key_types))
    if not all(_of_type(v, t) for v, t in zip(after, key_types, strict=True)):
        raise _invalid_cursor("a cursor of another list")
    return after


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, limit))


def row_key_names(keys: Sequence[Any], shown: Sequence[Any]) -> list[str]:
    """Where a page's row holds each sort key: the column itself when it is among the `shown`
    columns (selected and decoded once, not twice), else a column of its own, `page_key<i>`."""
    return [key.key if _among(key, shown) else f"page_key{i}" for i, key in enumerate(keys)]


def key_labels(keys: Sequence[Any], shown: Sequence[Any]) -> list[Any]:
    """The sort keys a page selects besides the `shown` columns, named as row_key_names says."""
    return [key.label(f"page_key{i}") for i, key in enumerate(keys) if not _among(key, shown)]


def _among(key: Any, columns: Sequence[Any]) -> bool:
    # By identity: `in` would compare SQL expressions with ==, which builds a clause.
    return any(key is column for column in columns)


def page_of(rows: Sequence[T], size: int, key_of: Callable[[T], Sequence[Any]]) -> Page[T]:
    """The first `size` of `rows` (fetched one longer), with the cursor after the last if more."""
    items = list(rows[:size])
    more = len(rows) > size and items
    return Page(items=items, next_cursor=encode_cursor(key_of(items[-1])) if more else None)


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    keys: Sequence[ColumnElement[Any] | QueryableAttribute[Any]],
    *,
    limit: int | None,
    cursor: str | None,
    descending: bool = True,
    scalars: bool = True,
    having: bool = False,
    key_types: Sequence[type] | None = None,
) -> Page[Any]:
    """Run `stmt` ordered by `keys` (the last one unique) from `cursor`, one page long.

    `keys` must be non-null expressions. With scalars=True the page holds the first selected
    entity of each row; with scalars=False it holds the rows themselves. With having=True the
    cursor condition goes in HAVING, for a grouped `stmt` whose keys include an aggregate.
    A cursor's values must have the keys' Python types (`key_types`, by default those of the
    keys' SQL types): a cursor of another list is bad input, not a query PostgreSQL refuses.
    """
    size = clamp_limit(limit)
    row_key = tuple_(*keys)
    after = cursor_after(cursor, key_types or key_types_of(keys)) if cursor else None
    if after is not None:
        condition = row_key < tuple_(*after) if descending else row_key > tuple_(*after)
        stmt = stmt.having(condition) if having else stmt.where(condition)
    ordering = [k.desc() if descending else k.asc() for k in keys]
    key_labels = [k.label(f"_k{i}") for i, k in enumerate(keys)]
    # LIMIT inline, not a parameter: knowing it, PostgreSQL keeps one generic plan for the
    # prepared statement instead of re-planning every call (~1 ms over 25 partitions).
    limit_inline: BindParameter[int] = bindparam("page_limit", size + 1, literal_execute=True)
    stmt = stmt.add_columns(*key_labels).order_by(*ordering).limit(limit_inline)
    rows = (await session.execute(stmt)).all()
    page = page_of(rows, size, lambda row: [row._mapping[label.name] for label in key_labels])
    items = [row[0] if scalars else row for row in page.items]
    return Page(items=items, next_cursor=page.next_cursor)
