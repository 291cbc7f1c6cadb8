"""The operator CLI against the test database: accounts, roles, migrations, partitions."""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
import tomllib

import asyncpg
import pytest

from api.cli.main import main, run
from domain.topics.starter import STARTER_TOPICS
from infra.settings import ROOT, Settings
from tests.conftest import asyncpg_dsn
from tests.factories import PASSWORD, unique
from tests.scratch import scratch_database


def user_row(settings: Settings, login: str) -> asyncpg.Record | None:
    async def fetch() -> asyncpg.Record | None:
        conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        try:
            return await conn.fetchrow(
                "SELECT email, username, role, password_hash FROM users "
                "WHERE username = $1 OR email = $1",
                login,
            )
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_users_create_reads_the_password_from_stdin(settings: Settings) -> None:
    name = unique("cli")
    env = {**os.environ, "DATABASE_URL": settings.database_url, "LOG_JSON": "false"}
    env.pop("STORYLOOM_NEW_PASSWORD", None)
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "users", "create", "--email", f"{name}@Example.com",
         "--username", name, "--role", "moderator", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    row = user_row(settings, name)
    assert row is not None
    assert (row["email"], row["role"]) == (f"{name}@example.com", "moderator")
    assert row["password_hash"].startswith("$argon2id$")


def test_users_create_takes_the_password_from_the_environment(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("cli")
    monkeypatch.setenv("STORYLOOM_NEW_PASSWORD", PASSWORD)
    args = ["users", "create", "--email", f"{name}@example.com", "--username", name]
    assert run([*args, "--role", "admin"], settings) == 0
    row = user_row(settings, name)
    assert row is not None and row["role"] == "admin"

    # The same account again is refused, and so is a password the API would refuse.
    assert run(args, settings) == 1
    monkeypatch.setenv("STORYLOOM_NEW_PASSWORD", "short")
    other = unique("cli")
    assert (
        run(["users", "create", "--email", f"{other}@example.com", "--username", other], settings)
        == 1
    )
    assert user_row(settings, other) is None


def test_set_role_changes_the_role_and_reports_unknown_users(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("cli")
    monkeypatch.setenv("STORYLOOM_NEW_PASSWORD", PASSWORD)
    assert (
        run(["users", "create", "--email", f"{name}@example.com", "--username", name], settings)
        == 0
    )

    assert (
        run(
            ["users", "set-role", "--login", f"{name}@example.com", "--role", "moderator"], settings
        )
        == 0
    )
    row = user_row(settings, name)
    assert row is not None and row["role"] == "moderator"

    assert run(["users", "set-role", "--login", unique("nobody"), "--role", "admin"], settings) == 1
    assert "No user" in capsys.readouterr().err


def test_migrate_and_partitions_commands(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["migrate"], settings) == 0
    assert run(["partitions", "ensure"], settings) == 0
    assert "0 partition(s) created" in capsys.readouterr().out

    assert run(["partitions", "list"], settings) == 0
    out = capsys.readouterr().out
    assert "segments_default" in out and "jobs_default" in out
    assert "segments: " in out and "month(s) ahead" in out


def test_media_commands(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    # A grace longer than the test run: nothing of this run is old enough to go.
    assert run(["media", "sweep", "--grace-seconds", "86400"], settings) == 0
    assert "0 unreferenced objects removed" in capsys.readouterr().out
    assert run(["media", "backfill"], settings) in (0, 1)  # 1: legacy rows without files
    assert "segments given media rows" in capsys.readouterr().out


def test_topics_seed_fills_an_empty_platform_once(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with scratch_database("topics_seed") as url:
        fresh = settings.model_copy(update={"database_url": url})
        assert run(["topics", "seed"], fresh) == 0
        assert f"{len(STARTER_TOPICS)} starter topics: Mystery," in capsys.readouterr().out
        assert run(["topics", "seed"], fresh) == 0  # at every start, or once an admin made one
        assert "nothing seeded" in capsys.readouterr().out

        async def counts() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(asyncpg_dsn(url))
            try:
                return await conn.fetch(
                    "SELECT t.name, t.is_curated, count(c.id) AS categories FROM topics t "
                    "LEFT JOIN categories c ON c.topic_id = t.id "
                    "GROUP BY t.id ORDER BY t.display_order"
                )
            finally:
                await conn.close()

        rows = asyncio.run(counts())
        assert [(r["name"], r["is_curated"], r["categories"]) for r in rows] == [
            (name, True, 2) for name, _, _ in STARTER_TOPICS
        ]


def test_bad_arguments_exit_with_usage() -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(["users", "create", "--email", "a@example.com"])
    assert exit_info.value.code == 2


def test_the_installed_command_is_this_cli() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    module, _, name = pyproject["project"]["scripts"]["storyloom"].partition(":")
    assert getattr(importlib.import_module(module), name) is main
