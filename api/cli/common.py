"""What every command shares: its user-facing error, and a database opened for one run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from infra.db import Database
from infra.settings import Settings


class CommandError(Exception):
    """A user-facing failure: printed without a traceback, exit status 1."""


async def on_database(settings: Settings, work: Callable[[Database], Awaitable[int]]) -> int:
    """`work` on a Database made for this command, disposed of however it ends."""
    db = Database(settings)
    try:
        return await work(db)
    finally:
        await db.dispose()
