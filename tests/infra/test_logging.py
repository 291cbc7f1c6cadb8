"""info_line: the access line rendered without structlog's chain is the line the chain renders."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from infra.logging import configure_logging, get_logger, info_line

Captured = pytest.CaptureFixture[str]


@pytest.fixture
def stderr(capsys: Captured) -> Iterator[Captured]:
    saved = structlog.get_config()
    yield capsys
    structlog.configure(**saved)
    structlog.contextvars.clear_contextvars()


def lines(stderr: Captured) -> list[str]:
    return stderr.readouterr().err.splitlines()


def without_time(line: str) -> str:
    entry = json.loads(line)
    assert entry.pop("timestamp").endswith("Z")
    return json.dumps(entry)


def test_the_json_line_is_the_chains_byte_for_byte_but_the_time(stderr: Captured) -> None:
    configure_logging("INFO", json_output=True)
    log = get_logger("test.access")
    structlog.contextvars.bind_contextvars(request_id="abc", user="é")
    fields = {"method": "GET", "path": '/v1/jobs/"é"', "status": 200, "duration_ms": 0.52}
    log.info("request", **fields)
    info_line(log, "request", **fields)
    chain, direct = lines(stderr)
    assert direct[: direct.index('"timestamp"')] == chain[: chain.index('"timestamp"')]
    assert without_time(direct) == without_time(chain)
    keys = list(json.loads(direct))  # the context's own order comes from contextvars
    assert keys[:5] == [*fields, "event"] and keys[-2:] == ["level", "timestamp"]
    assert set(keys[5:-2]) == {"request_id", "user"}


def test_a_level_above_info_writes_nothing(stderr: Captured) -> None:
    configure_logging("WARNING", json_output=True)
    info_line(get_logger("test.access"), "request", status=200)
    assert lines(stderr) == []


def test_console_output_is_the_loggers_own(stderr: Captured) -> None:
    configure_logging("INFO", json_output=False)
    info_line(get_logger("test.access"), "request", status=200)
    (line,) = lines(stderr)
    assert not line.startswith("{") and "request" in line and "status" in line


def test_another_configuration_is_followed(stderr: Captured) -> None:
    configure_logging("INFO", json_output=True)
    stream = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    info_line(get_logger("test.access"), "request", status=200)
    assert lines(stderr) == []
    assert json.loads(stream.getvalue()) == {"status": 200, "event": "request"}


def test_what_orjson_refuses_is_still_written(stderr: Captured) -> None:
    configure_logging("INFO", json_output=True)
    log = get_logger("test.access")
    info_line(log, "request", big=2**70, keyed={1: "one"}, odd=object)
    log.info("request", big=2**70)
    direct, chain = (json.loads(line) for line in lines(stderr))
    assert direct["big"] == 2**70 and direct["keyed"] == {"1": "one"}
    assert direct["odd"] == repr(object) and chain["big"] == 2**70
