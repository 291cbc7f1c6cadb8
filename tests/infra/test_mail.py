"""Mail delivery: SMTP to a real local server, the outbox without one, retries when it fails."""

from __future__ import annotations

import email
from pathlib import Path

import pytest
from arq.worker import Retry

from infra.mail import Mail, deliver, send_mail_job
from infra.settings import Settings
from tests.infra.smtp_server import body_of, smtp_server
from tests.worker.processes import free_port

MAIL = Mail(to="mara@example.com", subject="Hello", text="Ünïcode body, line one.\n")


async def test_without_smtp_the_mail_lands_in_the_outbox(
    settings: Settings, tmp_path: Path
) -> None:
    local = settings.model_copy(update={"smtp_host": None, "mail_outbox_dir": tmp_path / "out"})
    where = await deliver(local, MAIL)
    files = list((tmp_path / "out").glob("*.eml"))
    assert [str(f) for f in files] == [where]
    message = email.message_from_bytes(files[0].read_bytes())
    assert (message["To"], message["Subject"]) == (MAIL.to, MAIL.subject)
    assert body_of(message) == MAIL.text
    assert message["From"] == local.mail_from


async def test_over_smtp_the_server_receives_it(settings: Settings) -> None:
    with smtp_server() as (inbox, port):
        over = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
        )
        where = await send_mail_job({"settings": over, "job_try": 1}, mail=MAIL.__dict__)
        received = await inbox.wait_for(MAIL.to)
    assert where == f"smtp://127.0.0.1:{port}"
    assert body_of(received) == MAIL.text


async def test_a_server_that_is_down_is_retried_later(settings: Settings) -> None:
    down = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_starttls": False}
    )
    with pytest.raises(Retry):
        await send_mail_job({"settings": down, "job_try": 1}, mail=MAIL.__dict__)
