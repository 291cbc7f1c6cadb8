"""A real S3 endpoint for tests: moto's server mode in a subprocess on a free loopback port."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.worker.processes import free_port

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "storyloom-test",
    "AWS_SECRET_ACCESS_KEY": "storyloom-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def moto_server(timeout: float = 30.0) -> Iterator[str]:
    """Yield the endpoint URL of a fresh moto server; stop it (and only it) on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _ready(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"moto server did not start on {url}: {output}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
