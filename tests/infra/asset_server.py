"""A real HTTP server on a loopback address, in a thread, for the reference-asset fetcher.

It records every request it receives, so a test can prove a refused URL was never contacted.
"""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid, tiny PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


WAV = b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + b"\x00" * 24
PNG = png()


class AssetServer:
    def __init__(self, host: str, files: dict[str, bytes] | None = None) -> None:
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self.redirect_to = ""
        self.files = dict(files or {})  # more paths to serve (the type sniffed by the client)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append((self.path, self.headers.get("Host", "")))
                if self.path in server.files:
                    self._send(200, server.files[self.path], "application/octet-stream")
                elif self.path in ("/portrait.png", "/frame.png"):
                    self._send(200, PNG, "image/png")
                elif self.path == "/voice.wav":
                    self._send(200, WAV, "audio/wav")
                elif self.path == "/page.html":
                    self._send(200, b"<html>not an image</html>", "text/html")
                elif self.path == "/big":
                    self._send(200, b"x" * 5000, "image/png")
                elif self.path == "/big-chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for _ in range(10):
                        self.wfile.write(b"400\r\n" + b"y" * 1024 + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                elif self.path == "/slow":
                    self.send_response(200)
                    self.send_header("Content-Length", "10")
                    self.end_headers()
                    for _ in range(10):
                        time.sleep(0.3)
                        self.wfile.write(b"z")
                        self.wfile.flush()
                elif self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", server.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._send(404, b"no", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


@contextmanager
def serving(
    host: str = "127.0.0.1", files: dict[str, bytes] | None = None
) -> Iterator[AssetServer]:
    server = AssetServer(host, files)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(timeout=5)
