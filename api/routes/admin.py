"""Operator views for admins."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminUser, ReadSessionDep, SettingsDep
from api.errors import problem_responses
from domain.partitions import service
from schemas.admin import PartitionArchiveOut, PartitionOut, PartitionsOut, TablePartitionsOut

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get(
    "/partitions",
    response_model=PartitionsOut,
    responses=problem_responses(401, 403),
)
async def partitions(
    admin: AdminUser, session: ReadSessionDep, settings: SettingsDep
) -> PartitionsOut:
    """Every partition of segments and jobs, how far ahead they reach, and the archives."""
    overview = await service.overview(session, settings)
    report = overview.report
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
        archives=[PartitionArchiveOut.model_validate(a) for a in overview.archives],
        warnings=overview.warnings,
    )
