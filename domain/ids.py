"""Time-ordered ids (UUIDv7, RFC 9562) whose timestamp is also the row's created_at.

Jobs and segments are partitioned by month on created_at; an id that carries its own creation
time lets a lookup by id alone name the one partition to read.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta


def new_time_id(now: datetime | None = None) -> tuple[uuid.UUID, datetime]:
    """A UUIDv7 and the exact (millisecond) instant it encodes."""
    now = now or datetime.now(UTC)
    millis = int(now.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    return uuid.UUID(int=value), datetime.fromtimestamp(millis / 1000, UTC)


def time_of(identifier: uuid.UUID) -> datetime | None:
    """The creation instant a UUIDv7 carries, or None for other versions."""
    if identifier.version != 7:
        return None
    return datetime.fromtimestamp((identifier.int >> 80) / 1000, UTC)


_ALL_TIME = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


def created_range(identifier: uuid.UUID) -> tuple[datetime, datetime]:
    """Where the created_at of the row with this id lies: the month a UUIDv7 names, else
    anywhere (an id of another version names no month)."""
    created = time_of(identifier)
    return month_bounds(created) if created is not None else _ALL_TIME


def month_bounds(instant: datetime) -> tuple[datetime, datetime]:
    start = instant.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following
