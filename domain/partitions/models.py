"""The manifest of archived partitions: one row per partition exported to storage.

infra.archive reads and writes it in SQL (infra imports nothing from domain); the model is here
so the table is part of the metadata alembic compares against.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, uuid_pk


class PartitionArchive(Base):
    """A partition on its way to storage (archived_at NULL), archived, or restored."""

    __tablename__ = "partition_archives"
    __table_args__ = (CheckConstraint("range_from < range_to", name="range"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    table_name: Mapped[str] = mapped_column(String(63))
    partition_name: Mapped[str] = mapped_column(String(63), unique=True)
    range_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    range_to: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    storage_key: Mapped[str] = mapped_column(String(1024))
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    detached_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    restored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
