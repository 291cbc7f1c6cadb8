"""Where media lives: the local media directory (served by the API) or an S3 bucket.

Keys are relative POSIX paths ("scenes/<id>/segments/<id>/index.m3u8"). Every key is checked
before use, so a key can never reach outside the local root, whichever backend is in use.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.settings import Settings

MEDIA_URL_PATH = "/media"
PRESIGNED_URL_SECONDS = 12 * 3600
MAX_KEY_LENGTH = 1024
# Up to this many bytes, LocalStorage.put_files copies without leaving the event loop.
INLINE_COPY_BYTES = 4 * 1024 * 1024
_S3_DELETE_BATCH = 1000
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
}


class InvalidStorageKey(ValueError):
    """A key that is empty, absolute, climbs with '..', or holds a backslash or control char."""


class ObjectNotFound(LookupError):
    pass


def content_type_for(key: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), "application/octet-stream")


def _check_chars(value: str) -> None:
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidStorageKey(f"storage key holds a backslash or control character: {value!r}")
    if value.startswith("/"):
        raise InvalidStorageKey(f"storage key is absolute: {value!r}")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidStorageKey("storage key is too long")


def validate_key(key: str) -> str:
    """Return `key` if it is a clean relative path; names starting with '.' are reserved."""
    if not isinstance(key, str) or not key:
        raise InvalidStorageKey("storage key is empty")
    _check_chars(key)
    for part in key.split("/"):
        if part in ("", ".", "..") or part.startswith("."):
            raise InvalidStorageKey(f"storage key has an empty, dot or '..' part: {key!r}")
    return key


def validate_prefix(prefix: str, *, allow_empty: bool = True) -> str:
    """Like a key, but it may end with '/' or stop in the middle of a name."""
    if not prefix:
        if allow_empty:
            return ""
        raise InvalidStorageKey("an empty prefix would match everything")
    _check_chars(prefix)
    parts = prefix.split("/")
    if parts[-1] == "":
        parts = parts[:-1]
    for part in parts:
        if part in ("", ".", "..") or part.startswith("."):
            raise InvalidStorageKey(f"storage prefix has an empty, dot or '..' part: {prefix!r}")
    return prefix


class Storage(ABC):
    """Media storage; every method takes keys, never filesystem paths or bucket names."""

    @abstractmethod
    async def put_file(self, key: str, path: Path, content_type: str | None = None) -> None: ...

    @abstractmethod
    async def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    async def put_files(
        self,
        files: Sequence[tuple[str, Path]],
        on_stored: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """Store `files` (key, path) in order, so the last one's presence means the rest are
        there; `on_stored(n)` is awaited as the first n are stored."""
        for done, (key, path) in enumerate(files, start=1):
            await self.put_file(key, path)
            if on_stored is not None:
                await on_stored(done)

    @abstractmethod
    async def read_bytes(self, key: str) -> bytes:
        """The object's content; ObjectNotFound when missing."""

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with `prefix`; return how many."""

    @abstractmethod
    async def list(self, prefix: str = "") -> builtins.list[str]:
        """Keys starting with `prefix`, sorted."""

    @abstractmethod
    def url(self, key: str) -> str:
        """A URL a player can fetch the object from."""

    def writable_dir(self, prefix: str) -> Path | None:
        """A directory whose files are the objects under `prefix` (a producer may write them
        in place instead of storing copies), or None when the storage is not a local one."""
        return None


class LocalStorage(Storage):
    def __init__(self, root: Path, base_url: str = MEDIA_URL_PATH) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self._resolved_root: Path | None = None

    def path(self, key: str) -> Path:
        """The file behind `key`; refuses anything that resolves outside the root."""
        return self._inside(self.root.joinpath(*validate_key(key).split("/")), key)

    def _inside(self, path: Path, name: str) -> Path:
        """`path`, refused when it resolves (symbolic links followed) outside the root."""
        if self._resolved_root is None:  # resolving walks every component: once is enough
            self._resolved_root = self.root.resolve()
        if not path.resolve().is_relative_to(self._resolved_root):
            raise InvalidStorageKey(f"storage key escapes the media root: {name!r}")
        return path

    async def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        target = self.path(key)
        await asyncio.to_thread(self._atomic_write, target, lambda t: shutil.copyfile(path, t))

    async def put_files(
        self,
        files: Sequence[tuple[str, Path]],
        on_stored: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """All of them in order; small sets are copied on the event loop itself.

        A segment's files (a few short MPEG-TS parts, a playlist, a thumbnail) copy in well
        under a millisecond; a trip to a thread would cost more, and on a busy worker each
        system call such a thread makes waits for the GIL. Larger sets go to a thread.
        """
        targets = [(self.path(key), source) for key, source in files]  # all checked first
        if sum(source.stat().st_size for _, source in targets) <= INLINE_COPY_BYTES:
            self._copy_all(targets)
        else:
            await asyncio.to_thread(self._copy_all, targets)
        if on_stored is not None and files:
            await on_stored(len(files))

    def _copy_all(self, targets: Sequence[tuple[Path, Path]]) -> None:
        made: set[Path] = set()
        for target, source in targets:
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            self._atomic_write(target, functools.partial(shutil.copyfile, source), mkdir=False)

    async def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        target = self.path(key)
        await asyncio.to_thread(self._atomic_write, target, lambda t: t.write_bytes(data))

    @staticmethod
    def _atomic_write(target: Path, write: Callable[[Path], Any], *, mkdir: bool = True) -> None:
        if mkdir:
            target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            write(temp)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    async def read_bytes(self, key: str) -> bytes:
        path = self.path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, self.path(key))

    def _delete(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            path.unlink()
        # Drop directories left empty, so deleting a segment leaves no trace behind.
        parent, root = path.parent, self.root.resolve()
        while parent.resolve() != root and parent.resolve().is_relative_to(root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    async def delete_prefix(self, prefix: str) -> int:
        validate_prefix(prefix, allow_empty=False)
        keys = await self.list(prefix)
        for key in keys:
            await asyncio.to_thread(self._delete, self.path(key))
        return len(keys)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        validate_prefix(prefix)
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> builtins.list[str]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        keys = []
        for directory, dirs, files in os.walk(start):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            relative = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                if name.startswith("."):
                    continue
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{quote(validate_key(key))}"

    def writable_dir(self, prefix: str) -> Path | None:
        parts = validate_prefix(prefix, allow_empty=False).strip("/").split("/")
        path = self._inside(self.root.joinpath(*parts), prefix)
        path.mkdir(parents=True, exist_ok=True)
        return path


class S3Storage(Storage):
    """An S3 (or S3-compatible) bucket; boto3 is blocking, so each call runs in a thread."""

    def __init__(
        self,
        bucket: str,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        public_base_url: str | None = None,
        presign_seconds: int = PRESIGNED_URL_SECONDS,
    ) -> None:
        self.bucket = bucket
        # SigV4 presigning: the lifetime travels in the URL (X-Amz-Expires), up to 7 days.
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, config=Config(signature_version="s3v4")
        )
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.presign_seconds = presign_seconds

    async def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        validate_key(key)
        extra = {"ContentType": content_type or content_type_for(key)}
        await asyncio.to_thread(
            self.client.upload_file, str(path), self.bucket, key, ExtraArgs=extra
        )

    async def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=validate_key(key),
            Body=data,
            ContentType=content_type or content_type_for(key),
        )

    async def read_bytes(self, key: str) -> bytes:
        def read() -> bytes:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                    raise ObjectNotFound(key) from exc
                raise
            return response["Body"].read()

        validate_key(key)
        return await asyncio.to_thread(read)

    async def exists(self, key: str) -> bool:
        def head() -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                    return False
                raise
            return True

        validate_key(key)
        return await asyncio.to_thread(head)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(
            self.client.delete_object, Bucket=self.bucket, Key=validate_key(key)
        )

    async def delete_prefix(self, prefix: str) -> int:
        keys = await self.list(validate_prefix(prefix, allow_empty=False))
        for start in range(0, len(keys), _S3_DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + _S3_DELETE_BATCH]]
            await asyncio.to_thread(
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )
        return len(keys)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        def collect() -> builtins.list[str]:
            paginator = self.client.get_paginator("list_objects_v2")
            keys: builtins.list[str] = []
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
            return sorted(keys)

        validate_prefix(prefix)
        return await asyncio.to_thread(collect)

    async def put_cors(self, origins: builtins.list[str]) -> None:
        """Let browsers on `origins` GET objects (a player on another origin fetches chunks)."""
        rules = {
            "CORSRules": [
                {
                    "AllowedMethods": ["GET", "HEAD"],
                    "AllowedOrigins": origins,
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["Content-Length", "Content-Range", "ETag"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        }
        await asyncio.to_thread(
            self.client.put_bucket_cors, Bucket=self.bucket, CORSConfiguration=rules
        )

    def url(self, key: str) -> str:
        validate_key(key)
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(key)}"
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.presign_seconds,
        )


def storage_from_settings(settings: Settings) -> Storage:
    """S3 when S3_BUCKET is set, else the local media directory."""
    if settings.s3_bucket:
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            public_base_url=settings.media_public_base_url,
            presign_seconds=settings.media_url_seconds,
        )
    base = settings.public_base_url.rstrip("/") + MEDIA_URL_PATH
    return LocalStorage(settings.media_dir, base_url=base)
