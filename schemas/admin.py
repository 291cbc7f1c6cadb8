"""Wire models for the operator's views: partitions, their horizon and the archives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from schemas.common import WireModel


class PartitionOut(WireModel):
    name: str
    range_from: datetime | None = Field(description="Inclusive; null for the default partition.")
    range_to: datetime | None = Field(description="Exclusive; null for the default partition.")
    is_default: bool
    row_estimate: int | None = Field(
        description="pg_class.reltuples, kept by ANALYZE; null before the first one."
    )


class TablePartitionsOut(WireModel):
    table: str
    months_ahead: int = Field(description="Whole months after the current one, gap-free.")
    horizon: date | None = Field(description="Where the gap-free coverage ends.")
    partitions: list[PartitionOut]


class PartitionArchiveOut(WireModel):
    table: str
    partition: str
    range_from: datetime
    range_to: datetime
    status: Literal["pending", "archived", "restored"] = Field(
        description="pending: detached, upload not finished (the next run finishes it)."
    )
    storage_key: str
    row_count: int | None
    size_bytes: int | None
    sha256: str | None
    detached_at: datetime
    archived_at: datetime | None
    restored_at: datetime | None


class PartitionsOut(WireModel):
    required_months_ahead: int
    tables: list[TablePartitionsOut]
    archives: list[PartitionArchiveOut]
    warnings: list[str] = Field(description="The same warnings /readyz reports.")
