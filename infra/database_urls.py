"""A database URL made into its siblings: another database on the same server, another address,
the plain DSN asyncpg takes. Used by the job feed, the dev services and the tests."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def with_host_port(url: str, host: str, port: int) -> str:
    return make_url(url).set(host=host, port=port).render_as_string(hide_password=False)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
