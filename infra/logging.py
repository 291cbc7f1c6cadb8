"""Structured logging: JSON lines (or console in a terminal) with context such as request_id."""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import orjson
import structlog
from structlog.contextvars import STRUCTLOG_KEY_PREFIX

_PREFIX_LEN = len(STRUCTLOG_KEY_PREFIX)


class _CurrentStderr:
    """Writes to whatever sys.stderr is now (test runners swap it), never a closed old one."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = _CurrentStderr()
# The configuration configure_logging installed, if its JSON lines are written at INFO: the
# access line is then rendered by `info_line` without the processor chain (see there).
_json_info: dict[str, Any] | None = None
_printer = structlog.PrintLogger(_STDERR)  # type: ignore[arg-type]
_FALLBACK = structlog.processors._json_fallback_handler


def _dumps(event: Any, default: Callable[[Any], Any] = _FALLBACK, **_: Any) -> str:
    """One JSON line, by orjson (a fifth of json.dumps's time for an access line); what orjson
    refuses (an integer beyond 64 bits) by json.dumps. Keys need not be strings, as there."""
    try:
        return orjson.dumps(event, default=default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(event, default=default)


def configure_logging(level: str = "INFO", json_output: bool = True) -> None:
    global _json_info
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer(_dumps)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    threshold = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(_STDERR),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    _json_info = structlog.get_config() if json_output and threshold <= logging.INFO else None


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


def info_line(logger: Any, event: str, **fields: Any) -> None:
    """`logger.info(event, **fields)` for a logger from get_logger, the same line for less CPU.

    Under configure_logging's JSON configuration (still the current one: tests swap it), the
    line its processors would render (fields, event, context variables, level, UTC timestamp)
    is built here directly and printed by the same kind of PrintLogger to the same stream; the
    chain's per-call work was a visible share of a polled request's CPU. Otherwise (console
    output, a level above INFO, another configuration) it is `logger.info` itself.
    """
    config = _json_info
    if config is None or not _is_current(config):
        logger.info(event, **fields)
        return
    fields["event"] = event
    context = contextvars.copy_context()
    for var in context:
        if var.name.startswith(STRUCTLOG_KEY_PREFIX) and context[var] is not Ellipsis:
            fields.setdefault(var.name[_PREFIX_LEN:], context[var])
    fields["level"] = "info"
    fields["timestamp"] = datetime.datetime.now(tz=datetime.UTC).isoformat().replace("+00:00", "Z")
    _printer.msg(_dumps(fields))


def _is_current(config: dict[str, Any]) -> bool:
    now = structlog.get_config()
    return (
        now["processors"] is config["processors"]
        and now["wrapper_class"] is config["wrapper_class"]
        and now["logger_factory"] is config["logger_factory"]
    )
