"""Operator views for admins."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminUser, ReadSessionDep
from infra.archive import list_archives
from infra.partitions import horizon_warnings, list_partitions
from schemas.admin import PartitionArchiveOut, PartitionOut, PartitionsOut, TablePartitionsOut
from schemas.common import Problem

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get(
    "/partitions",
    response_model=PartitionsOut,
    responses={s: {"model": Problem} for s in (401, 403)},
)
async def partitions(admin: AdminUser, session: ReadSessionDep) -> PartitionsOut:
    """Every partition of segments and jobs, how far ahead they reach, and the archives."""
    report = await list_partitions(session)
    archives = await list_archives(session)
    tables = [
        TablePartitionsOut(
            table=table,
            months_ahead=months,
            horizon=report.horizon[table],
            partitions=[
                PartitionOut(
                    name=p.name,
                    range_from=p.lower,
                    range_to=p.upper,
                    is_default=p.is_default,
                    row_estimate=p.row_estimate,
                )
                for p in report.partitions
                if p.table == table
            ],
        )
        for table, months in report.months_ahead.items()
    ]
    return PartitionsOut(
        required_months_ahead=report.required_months_ahead,
        tables=tables,
        archives=[PartitionArchiveOut.model_validate(a) for a in archives],
        warnings=horizon_warnings(report),
    )
