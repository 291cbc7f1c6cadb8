"""The `storyloom backup` and `storyloom restore` commands (`infra/backup.py` does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path

from api.cli.common import on_database
from domain.operations.events import record_system_event
from domain.operations.models import SystemEventKind
from infra.backup import backup, restore
from infra.db import Database
from infra.settings import Settings
from infra.storage import storage_from_settings


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    make = sub.add_parser(
        "backup", help="dump the database and copy the media it references into a directory"
    )
    make.add_argument("--to", type=Path, required=True, metavar="DIR", help="new or empty")
    back = sub.add_parser(
        "restore", help="restore a backup into an EMPTY database and storage, then check it"
    )
    back.add_argument("--from", dest="source", type=Path, required=True, metavar="DIR")


async def run_backup(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        manifest = await backup(
            db.primary,
            settings.database_url,
            storage_from_settings(settings),
            args.to,
            bin_dir=settings.pg_bin_dir,
        )
        summary = {
            "directory": str(args.to),
            "tables": len(manifest["database"]["row_counts"]),
            "rows": sum(manifest["database"]["row_counts"].values()),
            "objects": len(manifest["media"]),
            "missing_media": len(manifest["missing_media"]),
            "dump_bytes": manifest["database"]["size"],
        }
        await record_system_event(db, SystemEventKind.BACKUP_RUN, summary)
        print(
            f"backed up {summary['tables']} table(s), {summary['rows']} row(s) and "
            f"{summary['objects']} object(s) to {args.to}"
        )
        for key in manifest["missing_media"]:
            print(f"missing: {key} is referenced but not in storage")
        return 0

    return await on_database(settings, work)


async def run_restore(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        report = await restore(
            db.primary,
            settings.database_url,
            storage_from_settings(settings),
            args.source,
            bin_dir=settings.pg_bin_dir,
        )
        for problem in report.problems:
            print(f"check failed: {problem}")
        if report.problems:
            return 1
        # Written after the check, which compared the counts as the backup had them.
        await record_system_event(
            db,
            SystemEventKind.BACKUP_RESTORED,
            {"directory": str(args.source), "tables": report.tables, "objects": report.objects},
        )
        print(
            f"restored {report.tables} table(s) and {report.objects} object(s) from "
            f"{args.source}; row counts and checksums match"
        )
        return 0

    return await on_database(settings, work)
