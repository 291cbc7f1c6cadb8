"""Outgoing mail: over SMTP (aiosmtplib) when configured, else into a local outbox directory.

Mail is sent by the worker, never inside a request: `enqueue_mail` holds the message on the
session and the unit of work pushes it to the arq queue only after the commit, so a mail never
announces a token whose row rolled back, and a mail server that is down delays the mail (arq
retries it) instead of failing the request. The queue is the durable part: Redis keeps the
job across restarts of either process, like every other post-commit job. We chose the queue
over an outbox table because every mail we send answers a request the person can repeat (a
reset, a verification): a push lost to a Redis outage right after the commit costs one more
click, while a table the worker drains would add a poller and a cleanup for no one's benefit.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
from arq.worker import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from infra.logging import get_logger
from infra.queue import PendingJob, enqueue_after_commit
from infra.settings import Settings

log = get_logger("infra.mail")
SEND_MAIL = "send_mail"
MAIL_MAX_TRIES = 8


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


def enqueue_mail(session: AsyncSession, mail: Mail) -> None:
    """Send `mail` once the session's transaction has committed."""
    enqueue_after_commit(session, PendingJob(SEND_MAIL, kwargs={"mail": asdict(mail)}))


def build_message(settings: Settings, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="storyloom.local")
    message.set_content(mail.text)
    return message


async def deliver(settings: Settings, mail: Mail) -> str:
    """Send over SMTP, or write to the outbox; returns where the mail went."""
    message = build_message(settings, mail)
    if not settings.smtp_host:
        return await asyncio.to_thread(_write_to_outbox, settings.mail_outbox_dir, message)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        start_tls=settings.smtp_starttls,
        timeout=settings.smtp_timeout_seconds,
    )
    return f"smtp://{settings.smtp_host}:{settings.smtp_port}"


def _write_to_outbox(directory: Path, message: EmailMessage) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(message))
    return str(path)


async def send_mail_job(ctx: dict[str, Any], mail: dict[str, str]) -> str:
    """The queue's entry point: deliver one mail, retried with backoff while SMTP fails."""
    settings: Settings = ctx["settings"]
    try:
        where = await deliver(settings, Mail(**mail))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        tries = int(ctx.get("job_try", 1))
        log.warning("mail_delivery_failed", error=repr(exc), attempt=tries)
        if tries >= MAIL_MAX_TRIES:
            raise
        raise Retry(defer=min(300, 5 * 2**tries)) from exc
    # Never the body: it carries a token.
    log.info("mail_sent", to_domain=mail["to"].rpartition("@")[2], where=where)
    return where
