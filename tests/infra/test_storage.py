"""Storage: the local media directory and S3 (against a real moto server)."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from infra.settings import Settings
from infra.storage import (
    InvalidStorageKey,
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    Storage,
    content_type_for,
    storage_from_settings,
)
from tests.infra.moto_server import DUMMY_CREDENTIALS, moto_server

ESCAPING_KEYS = [
    "",
    "/etc/passwd",
    "../outside.txt",
    "a/../../outside.txt",
    "a/..",
    "a\\..\\b.txt",
    "a/b\x00.txt",
    "a//b.txt",
    "./a.txt",
    "a/.hidden",
    "line\nbreak.txt",
]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def s3_client(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def s3_storage(s3_client) -> S3Storage:  # type: ignore[no-untyped-def]
    bucket = f"storyloom-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket)
    return S3Storage(bucket, client=s3_client)


@pytest.fixture
def local_storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media", base_url="http://media.test/media")


async def _round_trip(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "source.ts"
    source.write_bytes(b"\x47" * 188 * 4)
    await storage.put_file("scenes/s1/segments/g1/seg_000.ts", source)
    await storage.put_bytes("scenes/s1/segments/g1/index.m3u8", b"#EXTM3U\n")
    await storage.put_bytes("scenes/s1/segments/g2/index.m3u8", b"#EXTM3U\n#EXT-X-ENDLIST\n")
    await storage.put_bytes("scenes/s10/index.m3u8", b"other scene")

    assert await storage.read_bytes("scenes/s1/segments/g1/seg_000.ts") == source.read_bytes()
    assert await storage.exists("scenes/s1/segments/g1/index.m3u8")
    assert not await storage.exists("scenes/s1/segments/g1/missing.ts")
    with pytest.raises(ObjectNotFound):
        await storage.read_bytes("scenes/s1/segments/g1/missing.ts")

    assert await storage.list("scenes/s1/") == [
        "scenes/s1/segments/g1/index.m3u8",
        "scenes/s1/segments/g1/seg_000.ts",
        "scenes/s1/segments/g2/index.m3u8",
    ]
    # A prefix is a string prefix, as in S3: "scenes/s1" also matches "scenes/s10".
    assert "scenes/s10/index.m3u8" in await storage.list("scenes/s1")

    await storage.put_bytes("scenes/s1/segments/g1/index.m3u8", b"replaced")
    assert await storage.read_bytes("scenes/s1/segments/g1/index.m3u8") == b"replaced"

    await storage.delete("scenes/s1/segments/g2/index.m3u8")
    await storage.delete("scenes/s1/segments/g2/index.m3u8")  # missing: not an error
    assert not await storage.exists("scenes/s1/segments/g2/index.m3u8")

    assert await storage.delete_prefix("scenes/s1/segments/g1/") == 2
    assert await storage.list("scenes/s1/") == []
    assert await storage.list() == ["scenes/s10/index.m3u8"]


async def test_local_round_trip(local_storage: LocalStorage, tmp_path: Path) -> None:
    await _round_trip(local_storage, tmp_path)
    # Deleting the last file of a directory removes the emptied directories too.
    assert not (local_storage.root / "scenes" / "s1").exists()
    assert sorted(p.name for p in local_storage.root.rglob("*")) == ["index.m3u8", "s10", "scenes"]


async def test_local_writes_are_atomic_and_leave_no_temp_files(
    local_storage: LocalStorage,
) -> None:
    await local_storage.put_bytes("a/b/c.bin", b"x" * 100_000)
    files = [p.name for p in local_storage.root.rglob("*") if p.is_file()]
    assert files == ["c.bin"]
    assert local_storage.path("a/b/c.bin").read_bytes() == b"x" * 100_000


@pytest.mark.parametrize("key", ESCAPING_KEYS)
async def test_local_refuses_escaping_keys(
    local_storage: LocalStorage, tmp_path: Path, key: str
) -> None:
    source = tmp_path / "payload"
    source.write_bytes(b"payload")
    for call in (
        local_storage.put_bytes(key, b"payload"),
        local_storage.put_file(key, source),
        local_storage.read_bytes(key),
        local_storage.exists(key),
        local_storage.delete(key),
    ):
        with pytest.raises(InvalidStorageKey):
            await call
    with pytest.raises(InvalidStorageKey):
        local_storage.url(key)
    assert not (tmp_path / "outside.txt").exists()
    assert not local_storage.root.exists() or not any(local_storage.root.rglob("*"))


async def test_local_refuses_a_symlink_out_of_the_root(
    local_storage: LocalStorage, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    local_storage.root.mkdir(parents=True)
    (local_storage.root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidStorageKey):
        await local_storage.put_bytes("link/evil.txt", b"x")
    assert not (outside / "evil.txt").exists()


@pytest.mark.parametrize("prefix", ["", "../", "/abs/", "a/../"])
async def test_delete_prefix_refuses_empty_or_escaping(
    local_storage: LocalStorage, prefix: str
) -> None:
    await local_storage.put_bytes("keep/me.txt", b"1")
    with pytest.raises(InvalidStorageKey):
        await local_storage.delete_prefix(prefix)
    assert await local_storage.exists("keep/me.txt")


def test_local_url_quotes_the_key(local_storage: LocalStorage) -> None:
    assert (
        local_storage.url("scenes/a b/index.m3u8")
        == "http://media.test/media/scenes/a%20b/index.m3u8"
    )


def test_content_types() -> None:
    assert content_type_for("x/index.m3u8") == "application/vnd.apple.mpegurl"
    assert content_type_for("x/seg_000.ts") == "video/mp2t"
    assert content_type_for("x/out.mp4") == "video/mp4"
    assert content_type_for("x/thumbnail.JPG") == "image/jpeg"
    assert content_type_for("x/blob") == "application/octet-stream"


async def test_s3_round_trip(s3_storage: S3Storage, tmp_path: Path) -> None:
    await _round_trip(s3_storage, tmp_path)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


async def test_s3_sets_content_types_and_presigns(s3_storage: S3Storage, tmp_path: Path) -> None:
    await s3_storage.put_bytes("v/index.m3u8", b"#EXTM3U\n")
    source = tmp_path / "out.mp4"
    source.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    await s3_storage.put_file("v/out.mp4", source)
    head = s3_storage.client.head_object(Bucket=s3_storage.bucket, Key="v/index.m3u8")
    assert head["ContentType"] == "application/vnd.apple.mpegurl"
    head = s3_storage.client.head_object(Bucket=s3_storage.bucket, Key="v/out.mp4")
    assert head["ContentType"] == "video/mp4"

    url = s3_storage.url("v/index.m3u8")
    assert "X-Amz-Signature=" in url or "Signature=" in url
    assert await asyncio.to_thread(_fetch, url) == b"#EXTM3U\n"


async def test_s3_delete_prefix_beyond_one_batch(s3_storage: S3Storage) -> None:
    keys = [f"bulk/{i:04d}.ts" for i in range(1005)]
    for key in keys[:5]:
        await s3_storage.put_bytes(key, b"x")
    # S3 deletes at most 1,000 keys per request; fill the rest in parallel to keep the test quick.
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(
            pool.map(
                lambda key: s3_storage.client.put_object(
                    Bucket=s3_storage.bucket, Key=key, Body=b"x"
                ),
                keys[5:],
            )
        )
    await s3_storage.put_bytes("bulkhead/keep.ts", b"x")
    assert await s3_storage.delete_prefix("bulk/") == 1005
    assert await s3_storage.list("bulk") == ["bulkhead/keep.ts"]


@pytest.mark.parametrize("key", ["../x", "/abs", "a\\b", "a/\x00", "", "a//b"])
async def test_s3_refuses_bad_keys(s3_storage: S3Storage, key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        await s3_storage.put_bytes(key, b"x")
    assert await s3_storage.list() == []


def test_factory_picks_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = storage_from_settings(
        Settings(MEDIA_DIR=tmp_path, PUBLIC_BASE_URL="http://api.test", S3_BUCKET=None)
    )
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path
    assert local.url("a/b.ts") == "http://api.test/media/a/b.ts"

    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    remote = storage_from_settings(
        Settings(S3_BUCKET="media-bucket", S3_ENDPOINT_URL="http://127.0.0.1:9")
    )
    assert isinstance(remote, S3Storage)
    assert remote.bucket == "media-bucket"
    assert remote.client.meta.endpoint_url == "http://127.0.0.1:9"
    # Signed for MEDIA_URL_SECONDS, made on demand (SigV4: the lifetime is in the URL).
    assert "X-Amz-Expires=3600&" in remote.url("objects/ab/cd.ts")
    shorter = storage_from_settings(Settings(S3_BUCKET="b", MEDIA_URL_SECONDS=120))
    assert "X-Amz-Expires=120&" in shorter.url("objects/ab/cd.ts")
    # A public bucket or CDN: permanent URLs, no signature.
    public = storage_from_settings(
        Settings(S3_BUCKET="b", MEDIA_PUBLIC_BASE_URL="https://cdn.example/media/")
    )
    assert public.url("objects/ab/cd e.ts") == "https://cdn.example/media/objects/ab/cd%20e.ts"


@pytest.mark.parametrize("inline", [True, False])
async def test_put_files_stores_every_file_in_order(
    local_storage: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    # Small sets are copied on the event loop, larger ones in a thread: the same result.
    monkeypatch.setattr("infra.storage.INLINE_COPY_BYTES", 1 << 20 if inline else 0)
    sources = []
    for name in ("seg_000.ts", "video.mp4", "index.m3u8"):
        source = tmp_path / name
        source.write_bytes(name.encode() * 100)
        sources.append((f"scenes/s1/segments/g1/{name}", source))
    seen: list[int] = []

    async def stored(done: int) -> None:
        seen.append(done)

    await local_storage.put_files(sources, stored)
    for key, source in sources:
        assert await local_storage.read_bytes(key) == source.read_bytes()
    assert seen[-1] == len(sources)
    leftovers = [p.name for p in (tmp_path / "media").rglob(".*.tmp")]
    assert leftovers == []


async def test_put_files_checks_every_key_before_writing_any(
    local_storage: LocalStorage, tmp_path: Path
) -> None:
    source = tmp_path / "a.ts"
    source.write_bytes(b"x")
    with pytest.raises(InvalidStorageKey):
        await local_storage.put_files([("scenes/ok/a.ts", source), ("../escape.ts", source)])
    assert await local_storage.list("scenes/") == []


async def test_s3_put_files_uploads_in_order(s3_storage: S3Storage, tmp_path: Path) -> None:
    files = []
    for name in ("seg_000.ts", "index.m3u8"):
        (tmp_path / name).write_bytes(name.encode())
        files.append((f"scenes/s1/{name}", tmp_path / name))
    await s3_storage.put_files(files)
    assert await s3_storage.list("scenes/s1/") == ["scenes/s1/index.m3u8", "scenes/s1/seg_000.ts"]
    assert s3_storage.writable_dir("scenes/s1/") is None


async def test_a_writable_dir_holds_the_objects_of_its_prefix(
    local_storage: LocalStorage,
) -> None:
    directory = local_storage.writable_dir("scenes/s1/segments/g1/")
    assert directory is not None and directory.is_dir()
    (directory / "index.m3u8").write_bytes(b"#EXTM3U\n")
    assert await local_storage.read_bytes("scenes/s1/segments/g1/index.m3u8") == b"#EXTM3U\n"


@pytest.mark.parametrize("prefix", ["", "../", "/abs/", "a/../", "a//b/"])
def test_a_writable_dir_refuses_prefixes_that_escape(
    local_storage: LocalStorage, prefix: str
) -> None:
    with pytest.raises(InvalidStorageKey):
        local_storage.writable_dir(prefix)


def test_a_writable_dir_refuses_a_symlink_out_of_the_root(
    local_storage: LocalStorage, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "media").mkdir(exist_ok=True)
    (tmp_path / "media" / "scenes").symlink_to(outside)
    with pytest.raises(InvalidStorageKey):
        local_storage.writable_dir("scenes/s1/")
    assert list(outside.iterdir()) == []
