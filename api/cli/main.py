"""The `storyloom` operator command (also `python -m api.cli`).

    storyloom users create --email E --username U --role admin --password-stdin
    storyloom users set-role --login U --role moderator
    storyloom migrate
    storyloom partitions ensure [--months-ahead N]
    storyloom partitions list
    storyloom partitions archive [--dry-run] [--months N] [--partition jobs_pYYYY_MM]
    storyloom partitions restore jobs_pYYYY_MM
    storyloom secrets generate-key [--key-id KID]
    storyloom secrets rotate [--batch-size N]
    storyloom media backfill
    storyloom media sweep [--grace-seconds N]
    storyloom topics seed

A password can come from standard input (--password-stdin), from STORYLOOM_NEW_PASSWORD, or from
a prompt, so that it does not have to land in the shell history.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict

from alembic import command
from alembic.config import Config
from pydantic import ValidationError

from api.cli.backup import add_parsers as add_backup_parsers
from api.cli.backup import run_backup, run_restore
from api.cli.common import CommandError, on_database
from domain.errors import DomainError
from domain.media.backfill import backfill
from domain.media.sweeper import sweep
from domain.operations.events import (
    record_archive_run,
    record_partitions_created,
    record_system_event,
)
from domain.operations.models import SystemEventKind
from domain.topics.starter import seed_starter_topics
from domain.users import oauth as users_oauth
from domain.users import service as users_service
from domain.users.models import Role
from infra.archive import ArchiveError, archive_partitions, list_archives
from infra.backup import BackupError
from infra.crypto import KeyringError, generate_key_entry, load_keyring
from infra.db import Database
from infra.logging import configure_logging
from infra.partitions import ensure_partitions, list_partitions
from infra.restore import restore_partition
from infra.settings import ROOT, Settings, get_settings
from infra.storage import storage_from_settings
from schemas.users import RegisterIn

PASSWORD_ENV = "STORYLOOM_NEW_PASSWORD"
ROLES = [role.value for role in Role]


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif args.password is not None:
        password = args.password
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            raise CommandError("The passwords differ.")
    else:
        raise CommandError(f"No password: use --password-stdin or set {PASSWORD_ENV}.")
    return password


async def create_user(settings: Settings, args: argparse.Namespace) -> int:
    try:
        # The same rules as public registration, so the CLI cannot make an account the API
        # would have refused.
        wire = RegisterIn(email=args.email, username=args.username, password=read_password(args))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CommandError(problems) from exc

    async def work(db: Database) -> int:
        async with db.transaction() as session:
            user = await users_service.create_user(
                session,
                email=str(wire.email),
                username=wire.username,
                password=wire.password,
                role=Role(args.role),
            )
        print(f"created {user.role} {user.username} <{user.email}> id={user.id}")
        return 0

    return await on_database(settings, work)


async def topics_seed(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.transaction() as session:
            created = await seed_starter_topics(session)
        if created:
            print(f"{len(created)} starter topics: " + ", ".join(t.name for t in created))
        else:
            print("topics exist already: nothing seeded")
        return 0

    return await on_database(settings, work)


async def set_role(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.transaction() as session:
            user = await users_service.set_role(session, args.login, Role(args.role))
        print(f"{user.username} is now {user.role}")
        return 0

    return await on_database(settings, work)


def migrate(settings: Settings) -> int:
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    config.attributes["database_url"] = settings.database_url
    command.upgrade(config, "head")
    return 0


async def partitions_ensure(settings: Settings, args: argparse.Namespace) -> int:
    months = args.months_ahead if args.months_ahead is not None else settings.partition_months_ahead

    async def work(db: Database) -> int:
        async with db.transaction() as session:
            created = await ensure_partitions(session, months_ahead=months)
        await record_partitions_created(db, created)
        for c in created:
            print(f"created {c.name} [{c.lower} .. {c.upper}) moved_rows={c.moved_rows}")
        moved = sum(c.moved_rows for c in created)
        print(f"{len(created)} partition(s) created, {months} month(s) ahead kept")
        if moved:
            print(f"{moved} row(s) moved out of the default partitions")
        return 0

    return await on_database(settings, work)


async def partitions_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.session() as session:
            report = await list_partitions(
                session, required_months_ahead=settings.partition_months_ahead
            )
            archives = await list_archives(session)
        for p in report.partitions:
            bounds = "DEFAULT" if p.is_default else f"[{p.lower:%Y-%m-%d} .. {p.upper:%Y-%m-%d})"
            rows = "?" if p.row_estimate is None else f"~{p.row_estimate}"
            print(f"{p.name:<22} {bounds:<28} rows {rows}")
        for table, months in report.months_ahead.items():
            print(
                f"{table}: {months} month(s) ahead, until {report.horizon[table]} "
                f"(wanted: {report.required_months_ahead})"
            )
        for a in archives:
            rows = "?" if a.row_count is None else str(a.row_count)
            print(f"{a.partition:<22} {a.status:<9} rows {rows} -> {a.storage_key}")
        return 0

    return await on_database(settings, work)


async def partitions_archive(settings: Settings, args: argparse.Namespace) -> int:
    months = args.months if args.months is not None else settings.archive_jobs_after_months

    async def work(db: Database) -> int:
        run = await archive_partitions(
            db.primary,
            storage_from_settings(settings),
            months=months,
            dry_run=args.dry_run,
            only=args.partition,
        )
        await record_archive_run(db, run, dry_run=args.dry_run)
        for o in run.outcomes:
            rows = "" if o.rows is None else f" rows={o.rows}"
            detail = f": {o.detail}" if o.detail else ""
            print(f"{o.action:<13} {o.partition}{rows}{detail}")
        done = sum(o.action == "archived" for o in run.outcomes)
        print(f"{done} partition(s) archived (jobs partitions ending by {run.cutoff})")
        return 1 if run.failed else 0

    return await on_database(settings, work)


async def partitions_restore(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        restored = await restore_partition(
            db.primary, storage_from_settings(settings), args.partition
        )
        await record_system_event(db, SystemEventKind.RESTORE_RUN, asdict(restored))
        print(
            f"restored {restored.partition}: {restored.rows} row(s); "
            f"{restored.orphans_dropped} orphan(s) dropped, "
            f"{restored.moved_from_default} moved from the default partition"
        )
        return 0

    return await on_database(settings, work)


def secrets_generate_key(args: argparse.Namespace) -> int:
    try:
        print(generate_key_entry(args.key_id))
    except KeyringError as exc:
        print(f"storyloom: {exc}", file=sys.stderr)
        return 1
    print(
        "Prepend it to SECRETS_ENCRYPTION_KEYS, deploy, then run `storyloom secrets rotate`.",
        file=sys.stderr,
    )
    return 0


async def secrets_rotate(settings: Settings, args: argparse.Namespace) -> int:
    keyring = load_keyring(settings.secrets_encryption_keys.get_secret_value())

    async def work(db: Database) -> int:
        after, rewritten, unreadable = None, 0, []
        # One transaction per batch: a long rotation holds no lock for long and can be resumed.
        while True:
            async with db.transaction() as session:
                batch = await users_oauth.reencrypt_batch(
                    session, keyring, after=after, limit=args.batch_size
                )
            rewritten += batch.rewritten
            unreadable += batch.unreadable
            if batch.last_id is None:
                break
            after = batch.last_id
        print(f"{rewritten} oauth account(s) re-encrypted under key {keyring.current}")
        for account_id in unreadable:
            print(f"oauth account {account_id}: cannot decrypt (key missing?)", file=sys.stderr)
        return 1 if unreadable else 0

    return await on_database(settings, work)


async def media_backfill(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        result = await backfill(db, storage_from_settings(settings))
        print(f"{len(result.done)} segments given media rows, {len(result.skipped)} skipped")
        for segment_id, reason in result.skipped.items():
            print(f"  skipped {segment_id}: {reason}")
        return 1 if result.skipped else 0

    return await on_database(settings, work)


async def media_sweep(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        grace = settings.media_orphan_grace_seconds
        if args.grace_seconds is not None:
            grace = args.grace_seconds
        result = await sweep(db, storage_from_settings(settings), grace)
        print(f"{len(result.removed)} unreferenced objects removed")
        return 0

    return await on_database(settings, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storyloom", description="Storyloom operations.")
    sub = parser.add_subparsers(dest="command", required=True)

    users = sub.add_parser("users", help="create accounts, change roles").add_subparsers(
        dest="action", required=True
    )
    create = users.add_parser("create", help="create an account with any role")
    create.add_argument("--email", required=True)
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=ROLES, default=Role.USER.value)
    source = create.add_mutually_exclusive_group()
    source.add_argument("--password", help=f"visible in the shell history; prefer {PASSWORD_ENV}")
    source.add_argument("--password-stdin", action="store_true", help="read one line from stdin")
    role = users.add_parser("set-role", help="change the role of an account")
    role.add_argument("--login", required=True, help="email or username")
    role.add_argument("--role", choices=ROLES, required=True)

    sub.add_parser("migrate", help="upgrade the database to the latest migration")

    parts = sub.add_parser("partitions", help="monthly partitions of segments and jobs")
    parts_sub = parts.add_subparsers(dest="action", required=True)
    ensure = parts_sub.add_parser("ensure", help="create missing partitions (idempotent)")
    ensure.add_argument("--months-ahead", type=int, choices=range(1, 25), metavar="N")
    parts_sub.add_parser("list", help="partitions, bounds, row estimates, horizon, archives")
    archive = parts_sub.add_parser(
        "archive", help="export old jobs partitions to storage, then drop them (idempotent)"
    )
    archive.add_argument("--dry-run", action="store_true", help="only say what would happen")
    archive.add_argument(
        "--months", type=int, choices=range(1, 121), metavar="N", help="age in whole months"
    )
    archive.add_argument(
        "--partition", metavar="NAME", help="only this one (also archives a restored one again)"
    )
    restore = parts_sub.add_parser("restore", help="bring an archived jobs partition back")
    restore.add_argument("partition", metavar="NAME", help="e.g. jobs_p2026_01")

    keys = sub.add_parser("secrets", help="encryption keys for secrets at rest")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    generate = keys_sub.add_parser("generate-key", help="print a new kid:base64key entry")
    generate.add_argument("--key-id", metavar="KID", help="default: k<random hex>")
    rotate = keys_sub.add_parser(
        "rotate", help="re-encrypt every stored secret under the first key (idempotent)"
    )
    rotate.add_argument(
        "--batch-size", type=int, choices=range(1, 10_001), metavar="N", default=500
    )

    media = sub.add_parser("media", help="content-addressed media objects")
    media_sub = media.add_subparsers(dest="action", required=True)
    media_sub.add_parser(
        "backfill", help="media rows for segments made before content addressing (idempotent)"
    )
    sweeping = media_sub.add_parser("sweep", help="remove objects nothing references, now")
    sweeping.add_argument(
        "--grace-seconds", type=int, metavar="N", help="default: MEDIA_ORPHAN_GRACE_SECONDS"
    )
    topics = sub.add_parser("topics", help="topics people file their ideas under")
    topics.add_subparsers(dest="action", required=True).add_parser(
        "seed", help="starter topics for a platform that has none (idempotent)"
    )
    add_backup_parsers(sub)
    return parser


def run(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (args.command, getattr(args, "action", None)) == ("secrets", "generate-key"):
        return secrets_generate_key(args)  # needs no settings: it makes the first key
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        if args.command == "migrate":
            return migrate(settings)
        handlers = {
            ("users", "create"): create_user,
            ("users", "set-role"): set_role,
            ("partitions", "ensure"): partitions_ensure,
            ("partitions", "list"): partitions_list,
            ("partitions", "archive"): partitions_archive,
            ("partitions", "restore"): partitions_restore,
            ("secrets", "rotate"): secrets_rotate,
            ("media", "backfill"): media_backfill,
            ("media", "sweep"): media_sweep,
            ("topics", "seed"): topics_seed,
            ("backup", None): run_backup,
            ("restore", None): run_restore,
        }
        action = getattr(args, "action", None)
        return asyncio.run(handlers[(args.command, action)](settings, args))
    except (CommandError, DomainError, ArchiveError, KeyringError, BackupError) as exc:
        print(f"storyloom: {exc}", file=sys.stderr)
        return 1


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
