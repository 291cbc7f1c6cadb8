"""The OpenAI-backed providers, driven by the real openai client against a local fake server."""

from __future__ import annotations

import asyncio
import copy
import io
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import structlog
from openai import AsyncOpenAI

from infra.asset_fetch import FetchLimits, parse_networks
from infra.media import probe
from infra.providers.base import ExpansionContext, ProviderError, UnknownVideo
from infra.providers.moderation import LocalContentChecker
from infra.providers.openai_client import build_client
from infra.providers.openai_moderation import OpenAIContentChecker
from infra.providers.openai_script import (
    PROMPT_VERSION,
    SCRIPT_SCHEMA,
    OpenAIScriptExpander,
    build_system_prompt,
)
from infra.providers.openai_video import (
    OpenAIVideoRenderer,
    build_prompt,
    clip_seconds,
    parse_seconds,
)
from infra.settings import Settings
from schemas.script import Script
from tests.infra.asset_server import png, serving
from tests.infra.fake_openai import FakeOpenAI, VideoPlan, make_sample_media, serve

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")

API_KEY = "sk-storyloom-test-dummy"
POLL = 0.01
# The knobs at their Settings defaults, nothing read from the environment.
KNOBS = Settings.model_construct()
BIBLE: dict[str, Any] = {
    "characters": [
        {
            "entityId": "char_mara",
            "canonicalName": "Mara Quell",
            "aliases": ["Mara", "the Captain"],
            "description": "Harbour pilot with a grudge.",
            "isActive": True,
        },
        {"entityId": "char_tobin", "canonicalName": "Tobin", "isActive": True},
        {"entityId": "char_oldves", "canonicalName": "Old Ves", "isActive": False},
    ],
    "setting": {
        "primaryLocation": "Saltmarsh Harbour",
        "timePeriod": "1890s",
        "locations": [{"name": "The Lighthouse", "description": "Dark since the storm."}],
        "worldRules": ["No magic."],
    },
    "timeline": {"currentPoint": "Night of the storm", "majorEvents": []},
    "plotThreads": [
        {"id": "lost-cargo", "description": "Who took the cargo?", "status": "active"},
        {"id": "old-feud", "description": "Settled long ago.", "status": "resolved"},
    ],
    "styleGuide": {"tone": "tense", "genre": "mystery", "visualStyle": "teal and orange"},
}
STYLE = BIBLE["styleGuide"]


def context(**overrides: Any) -> ExpansionContext:
    values: dict[str, Any] = {
        "bible": BIBLE,
        "summary": "The storm has cut the harbour off.",
        "recent_scripts": [
            {"title": "Arrival", "shots": [{"setting": "Pier", "characters": [], "action": "Fog."}]}
        ],
        "segment_number": 4,
        "target_duration": 8.0,
    }
    values.update(overrides)
    return ExpansionContext(**values)


def script(*durations: float) -> Script:
    return Script.model_validate(
        {
            "title": "Night watch",
            "shots": [
                {
                    "setting": "The Lighthouse",
                    "characters": ["Mara"],
                    "action": f"Mara climbs the stairs, step {i}.",
                    "dialogue": [{"character": "Mara", "line": "Who lit the lamp?"}],
                    "duration": d,
                }
                for i, d in enumerate(durations or (1.5, 2.0))
            ],
        }
    )


@pytest.fixture(scope="session")
def fake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOpenAI]:
    mp4, thumbnail = make_sample_media(tmp_path_factory.mktemp("fake-openai"))
    with serve(FakeOpenAI(mp4, thumbnail)) as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> FakeOpenAI:
    fake_server.reset()
    return fake_server


@pytest.fixture
def openai_settings(fake: FakeOpenAI) -> Settings:
    return Settings(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=fake.url, MODERATION_TERMS="")


@pytest.fixture
async def sdk(openai_settings: Settings) -> AsyncIterator[AsyncOpenAI]:
    client = build_client(openai_settings)
    yield client
    await client.close()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Warnings captured here: the app's logging config may point at a stream since closed."""
    saved = structlog.get_config()
    stream = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    yield stream
    structlog.configure(**saved)


def renderer(client: AsyncOpenAI, **options: Any) -> OpenAIVideoRenderer:
    knobs: dict[str, Any] = {
        "model": KNOBS.openai_video_model,
        "size": KNOBS.openai_video_size,
        "allowed_seconds": parse_seconds(KNOBS.openai_video_seconds),
        "max_wait": KNOBS.openai_video_max_wait_seconds,
    }
    return OpenAIVideoRenderer(client, **{**knobs, "poll_interval": POLL, **options})


def remote_expander(client: AsyncOpenAI, **options: Any) -> OpenAIScriptExpander:
    knobs = {"model": KNOBS.openai_script_model, "max_tokens": KNOBS.openai_script_max_tokens}
    return OpenAIScriptExpander(client, **{**knobs, **options})


def remote_checker(client: AsyncOpenAI, **options: Any) -> OpenAIContentChecker:
    knobs = {
        "model": KNOBS.openai_moderation_model,
        "severe_score": KNOBS.openai_moderation_severe_score,
    }
    return OpenAIContentChecker(client, **{**knobs, **options})


# --- client ---------------------------------------------------------------------------------


def test_the_client_comes_from_settings_without_sdk_retries(openai_settings: Settings) -> None:
    client = build_client(openai_settings)
    assert str(client.base_url).rstrip("/") == openai_settings.openai_base_url
    assert client.max_retries == 0
    assert client.api_key == API_KEY


def test_no_key_no_client() -> None:
    with pytest.raises(ProviderError) as caught:
        build_client(Settings(OPENAI_API_KEY=None))
    assert caught.value.code == "provider_not_configured"


# --- script expansion -----------------------------------------------------------------------


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_the_schema_is_strict_and_accepts_every_valid_script() -> None:
    objects = [n for n in _walk(SCRIPT_SCHEMA) if n.get("type") == "object"]
    assert objects
    for node in objects:
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])
    assert not [n for n in _walk(SCRIPT_SCHEMA) if "default" in n or "maxLength" in n]
    full = script(2.0).model_dump(mode="json")
    full["bible_delta"] = {
        "new_characters": [{"entityId": "char_ves", "canonicalName": "Ves", "aliases": ["V"]}],
        "events": [{"event": "The lamp is lit."}],
        "thread_changes": [{"id": "lost-cargo", "status": "active"}],
    }
    jsonschema.validate(Script.model_validate(full).model_dump(mode="json"), SCRIPT_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"title": "", "shots": []}, SCRIPT_SCHEMA)


def test_the_system_prompt_carries_the_bible_summary_and_recent_scripts() -> None:
    prompt = build_system_prompt(context())
    for expected in (
        "Mara Quell",
        "the Captain",
        "Old Ves (id char_oldves, INACTIVE",
        "The Lighthouse",
        "lost-cargo",
        "No magic.",
        "teal and orange",
        "The storm has cut the harbour off.",
        "Arrival",
        "segment 4",
    ):
        assert expected in prompt
    assert "old-feud" not in prompt  # resolved threads cannot change, so they are not offered


def test_the_prompt_reads_consequences_as_the_design_string_or_as_a_list() -> None:
    events = [
        {"segmentNumber": 1, "event": "The lamp fails.", "consequences": "Ships run aground."},
        {
            "segmentNumber": 2,
            "event": "Tobin dives.",
            "consequences": ["He finds a crate.", "Cold."],
        },
        {"event": "A bell rings somewhere."},  # the design makes every field optional
    ]
    bible = {**BIBLE, "timeline": {"currentPoint": "Dawn", "majorEvents": events}}
    prompt = build_system_prompt(context(bible=bible))
    assert "- segment 1: The lamp fails. (consequences: Ships run aground.)" in prompt
    assert "- segment 2: Tobin dives. (consequences: He finds a crate.; Cold.)" in prompt
    assert "- undated: A bell rings somewhere.\n" in prompt


async def test_expansion_sends_a_strict_json_schema_and_returns_the_script(
    fake: FakeOpenAI, sdk: AsyncOpenAI
) -> None:
    expander = remote_expander(sdk, model="gpt-test-mini")
    text = 'Mara lights the lamp. Tobin shouts "Get down!" from the rocks.'
    expanded = await expander.expand(text, context())

    assert [shot.characters for shot in expanded.script.shots] == [["Mara Quell"], ["Tobin"]]
    assert expanded.script.shots[1].dialogue[0].line == "Get down!"
    assert expanded.script.shots[0].setting == "Saltmarsh Harbour"
    assert (expanded.provider, expanded.model, expanded.prompt_version) == (
        "openai",
        "gpt-test-mini",
        PROMPT_VERSION,
    )
    [sent] = fake.calls("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.body["model"] == "gpt-test-mini"
    assert sent.body["response_format"]["type"] == "json_schema"
    assert sent.body["response_format"]["json_schema"]["strict"] is True
    assert sent.body["response_format"]["json_schema"]["schema"] == SCRIPT_SCHEMA
    roles = [m["role"] for m in sent.body["messages"]]
    assert roles == ["system", "user"]
    assert sent.body["messages"][1]["content"] == text
    assert "Mara Quell" in sent.body["messages"][0]["content"]


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("garbage", "script_invalid"),
        ("wrong_shape", "script_invalid"),
        ("refusal", "script_refused"),
        ("truncated", "script_truncated"),
    ],
)
async def test_unusable_replies_fail_for_good(
    fake: FakeOpenAI, sdk: AsyncOpenAI, reply: str, code: str
) -> None:
    fake.script_reply = reply
    with pytest.raises(ProviderError) as caught:
        await remote_expander(sdk).expand("Mara waits.", context())
    assert (caught.value.code, caught.value.retryable) == (code, False)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (400, False), (401, False), (403, False)],
)
async def test_http_errors_map_to_retryable_or_not(
    fake: FakeOpenAI, sdk: AsyncOpenAI, status: int, retryable: bool
) -> None:
    fake.fail_next("POST", "/v1/chat/completions", status)
    with pytest.raises(ProviderError) as caught:
        await remote_expander(sdk).expand("Mara waits.", context())
    assert caught.value.retryable is retryable
    assert caught.value.code == "script_expansion_failed"
    assert str(status) in str(caught.value)
    assert len(fake.calls("POST", "/v1/chat/completions")) == 1  # no SDK retries underneath


async def test_timeouts_and_refused_connections_are_retryable(fake: FakeOpenAI) -> None:
    fake.delay_seconds = 1.0
    slow = AsyncOpenAI(api_key=API_KEY, base_url=fake.url, timeout=0.2, max_retries=0)
    closed = build_client(Settings(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL="http://127.0.0.1:9/v1"))
    try:
        for client in (slow, closed):
            with pytest.raises(ProviderError) as caught:
                await remote_expander(client).expand("Mara waits.", context())
            assert caught.value.retryable is True
    finally:
        await slow.close()
        await closed.close()


# --- moderation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "severity", "categories"),
    [
        ("A quiet evening at the harbour.", "none", []),
        ("He throws a punch.", "mild", ["violence"]),
        ("The gore spills out.", "severe", ["violence", "violence/graphic"]),
        ("You are worthless.", "severe", ["harassment"]),
    ],
)
async def test_moderation_maps_flags_and_scores_to_severity(
    fake: FakeOpenAI, sdk: AsyncOpenAI, text: str, severity: str, categories: list[str]
) -> None:
    fake.moderation_rules = {
        "punch": {"violence": 0.7},
        "gore": {"violence": 0.6, "violence/graphic": 0.8},
        "worthless": {"harassment": 0.95},
    }
    verdict = await remote_checker(sdk).check(text)
    assert (verdict.severity, verdict.categories) == (severity, categories)
    [sent] = fake.calls("POST", "/v1/moderations")
    assert sent.body == {"input": text, "model": "omni-moderation-latest"}


async def test_configured_terms_still_apply_over_the_remote_check(
    fake: FakeOpenAI, sdk: AsyncOpenAI
) -> None:
    settings = Settings(OPENAI_API_KEY=API_KEY, MODERATION_TERMS="zorblax:severe")
    checker = OpenAIContentChecker.from_settings(settings, sdk)
    verdict = await checker.check("The zorblax is here.")
    assert (verdict.severity, verdict.matches) == ("severe", ["zorblax"])
    assert len(fake.calls("POST", "/v1/moderations")) == 1


async def test_a_moderation_outage_raises_or_falls_back_to_the_local_check(
    fake: FakeOpenAI, sdk: AsyncOpenAI, log_stream: io.StringIO
) -> None:
    local = LocalContentChecker()
    fake.fail_next("POST", "/v1/moderations", 500, times=2)
    with pytest.raises(ProviderError) as caught:
        await remote_checker(sdk, local=local).check("kys")
    assert (caught.value.code, caught.value.retryable) == ("moderation_failed", True)
    verdict = await remote_checker(sdk, local=local, on_error="local").check("kys")
    assert verdict.severity == "severe"
    assert "moderation_fallback_to_local" in log_stream.getvalue()


# --- video ----------------------------------------------------------------------------------


def test_clip_length_and_prompt_follow_the_script() -> None:
    assert [clip_seconds(d, (4, 8, 12)) for d in (1.0, 4.0, 4.2, 9.0, 30.0)] == [4, 4, 8, 12, 12]
    prompt = build_prompt(script(1.5, 2.0), STYLE)
    assert "teal and orange" in prompt
    assert "Shot 2 (2s) at The Lighthouse, with Mara" in prompt
    assert 'Mara says: "Who lit the lamp?"' in prompt


async def test_a_video_renders_with_growing_progress(
    fake: FakeOpenAI, sdk: AsyncOpenAI, tmp_path: Path
) -> None:
    fake.video_plan = VideoPlan(polls_in_progress=3)
    video = renderer(sdk, model="sora-test", size="1280x720")
    video_id = await video.submit(script(1.5, 2.0), STYLE, tmp_path)
    seen: list[float] = []
    rendered = await video.wait(video_id, on_progress=seen.append)

    [created] = fake.calls("POST", "/v1/videos")
    assert created.body["model"] == "sora-test"
    assert (created.body["seconds"], created.body["size"]) == ("4", "1280x720")
    assert "Who lit the lamp?" in created.body["prompt"]
    assert created.headers["idempotency-key"].startswith("storyloom-")
    assert len(seen) >= 4 and seen == sorted(set(seen)) and seen[-1] == 1.0
    assert all(0 < p < 1 for p in seen[:-1])
    assert rendered.mp4.is_file() and rendered.thumbnail.read_bytes()[:2] == b"\xff\xd8"
    info = await probe(rendered.mp4)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert rendered.duration == pytest.approx(info.duration) and 1.9 < rendered.duration < 2.2
    assert (rendered.width, rendered.height) == (320, 240)
    assert (rendered.provider, rendered.model) == ("openai", "sora-test")
    assert not list(tmp_path.glob(".partial*"))  # noqa: ASYNC240


async def test_a_present_characters_portrait_is_sent_as_the_input_reference(
    fake: FakeOpenAI, sdk: AsyncOpenAI, tmp_path: Path
) -> None:
    portrait = png(4, 3)
    frame = png(2, 2)
    with serving("127.0.0.1", {"/mara.png": portrait, "/frame.png": frame}) as assets:
        limits = FetchLimits(allowed_networks=parse_networks("127.0.0.1/32"))
        bible = copy.deepcopy(BIBLE)
        bible["characters"][0]["referenceAssets"] = {"portraitUrl": assets.url("/mara.png")}
        bible["characters"][1]["referenceAssets"] = {"styleFrameUrl": assets.url("/frame.png")}
        video = renderer(sdk, asset_limits=limits)
        await video.submit(script(), STYLE, tmp_path / "a", bible=bible)
        # Nobody in the shots has a portrait: Tobin's style frame is the reference.
        del bible["characters"][0]["referenceAssets"]
        await video.submit(script(), STYLE, tmp_path / "b", bible=bible)
        # Without limits (no fetching configured) nothing is fetched or sent.
        await renderer(sdk).submit(script(), STYLE, tmp_path / "c", bible=bible)

    with_portrait, with_frame, without = fake.calls("POST", "/v1/videos")
    name, media_type, content = with_portrait.files["input_reference"]
    assert (media_type, content) == ("image/png", portrait) and name.endswith(".png")
    assert with_portrait.body["prompt"] and "input_reference" not in with_portrait.body
    assert with_frame.files["input_reference"][2] == frame
    assert without.files == {}


async def test_without_a_thumbnail_variant_a_frame_is_taken(
    fake: FakeOpenAI, sdk: AsyncOpenAI, tmp_path: Path
) -> None:
    fake.video_plan = VideoPlan(thumbnail=False)
    video = renderer(sdk)
    rendered = await video.wait(await video.submit(script(), STYLE, tmp_path))
    assert rendered.thumbnail.read_bytes()[:2] == b"\xff\xd8"
    assert [c.query.get("variant") for c in fake.calls("GET", "/v1/videos/")[-2:]] == [
        "video",
        "thumbnail",
    ]


async def test_a_failed_video_raises_its_error(
    fake: FakeOpenAI, sdk: AsyncOpenAI, tmp_path: Path
) -> None:
    fake.video_plan = VideoPlan(polls_in_progress=1, fail=("moderation_blocked", "Prompt blocked"))
    video = renderer(sdk)
    video_id = await video.submit(script(), STYLE, tmp_path)
    with pytest.raises(ProviderError) as caught:
        await video.wait(video_id)
    assert (caught.value.code, caught.value.retryable) == ("video_failed", False)
    assert "Prompt blocked" in str(caught.value)
    assert not (tmp_path / "out.mp4").exists()


async def test_a_transient_failure_is_retryable_and_a_retry_renders_anew(
    fake: FakeOpenAI, sdk: AsyncOpenAI, tmp_path: Path
) -> None:
    fake.video_plan = VideoPlan(fail=("internal_error", "GPU fell over"))
    first = renderer(sdk)
    failed_id = await first.submit(script(), STYLE, tmp_path)
    with pytest.raises(ProviderError) as caught:
        await first.wait(failed_id)
    assert caught.value.retryable is True

    fake.video_plan = VideoPlan()
    retry = renderer(sdk)
    new_id = await retry.submit(script(), STYLE, tmp_path, resume_id=failed_id)
    assert new_id != failed_id
    assert (await retry.wait(new_id)).mp4.is_file()
    assert len(fake.calls("POST", "/v1/videos")) == 2


async def test_slow_polling_tolerates_a_blip_and_reports_every_step(
    fake: FakeOpenAI, sdk: AsyncOpenAI, tmp_path: Path
) -> None:
    fake.video_plan = VideoPlan(polls_in_progress=8)
    video = renderer(sdk)
    video_id = await video.submit(script(), STYLE, tmp_path)
    fake.fail_next("GET", f"/v1/videos/{video_id}", 502)
    seen: list[float] = []
    await video.wait(video_id, on_progress=seen.append)
    polls = [c for c in fake.calls("GET", f"/v1/videos/{video_id}") if c.path.endswith(video_id)]
    assert len(polls) == 1 + 8 + 1  # the blip, eight in progress, completed
    assert len(seen) == 8 + 1 and seen == sorted(set(seen))


async def test_a_video_that_never_finishes_times_out_retryably(
    fake: FakeOpenAI, sdk: AsyncOpenAI, tmp_path: Path
) -> None:
    fake.video_plan = VideoPlan(polls_in_progress=10_000)
    video = renderer(sdk, max_wait=0.05)
    with pytest.raises(ProviderError) as caught:
        await video.wait(await video.submit(script(), STYLE, tmp_path))
    assert (caught.value.code, caught.value.retryable) == ("video_timeout", True)


async def test_a_crash_resumes_polling_without_a_second_create(
    fake: FakeOpenAI, openai_settings: Settings, tmp_path: Path
) -> None:
    fake.video_plan = VideoPlan(polls_in_progress=5)
    first_client = build_client(openai_settings)
    crashed = renderer(first_client)
    video_id = await crashed.submit(script(), STYLE, tmp_path)
    started = asyncio.Event()
    waiting = asyncio.create_task(crashed.wait(video_id, on_progress=lambda _: started.set()))
    await asyncio.wait_for(started.wait(), 10)
    waiting.cancel()  # the worker dies mid-poll...
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await first_client.close()
    del crashed, first_client  # ...and with it the renderer and its client

    client = build_client(openai_settings)  # a new process: only the stored id survives
    try:
        resumed = renderer(client)
        assert await resumed.submit(script(), STYLE, tmp_path, resume_id=video_id) == video_id
        rendered = await resumed.wait(video_id)
        assert rendered.mp4.is_file()
        assert len(fake.calls("POST", "/v1/videos")) == 1
        downloads = len(fake.calls("GET", f"/v1/videos/{video_id}/content"))

        # A crash after the download: the files on disk are the answer, nothing is fetched.
        again = renderer(client)
        assert await again.submit(script(), STYLE, tmp_path, resume_id=video_id) == video_id
        assert (await again.wait(video_id)).mp4 == rendered.mp4
        assert len(fake.calls("GET", f"/v1/videos/{video_id}/content")) == downloads
        assert len(fake.calls("POST", "/v1/videos")) == 1
    finally:
        await client.close()


async def test_unknown_ids_raise_unknown_video(
    fake: FakeOpenAI, sdk: AsyncOpenAI, tmp_path: Path
) -> None:
    video = renderer(sdk)
    with pytest.raises(UnknownVideo):
        await video.submit(script(), STYLE, tmp_path, resume_id="video_never_made")
    with pytest.raises(UnknownVideo):
        await video.wait("video_not_submitted_here")
    video_id = await video.submit(script(), STYLE, tmp_path)
    fake.videos.clear()  # the provider forgets it
    with pytest.raises(UnknownVideo):
        await video.wait(video_id)
    assert not fake.calls("POST", "/v1/videos")[1:]


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False)])
async def test_a_refused_submission_maps_to_retryable_or_not(
    fake: FakeOpenAI, sdk: AsyncOpenAI, tmp_path: Path, status: int, retryable: bool
) -> None:
    fake.fail_next("POST", "/v1/videos", status)
    with pytest.raises(ProviderError) as caught:
        await renderer(sdk).submit(script(), STYLE, tmp_path)
    assert (caught.value.code, caught.value.retryable) == ("video_submit_failed", retryable)


# --- registry -------------------------------------------------------------------------------


async def test_the_registry_picks_openai_only_with_a_key(fake: FakeOpenAI) -> None:
    from infra.providers import registry
    from infra.providers.local_script import LocalScriptExpander
    from infra.providers.local_video import LocalVideoRenderer

    local = Settings(OPENAI_API_KEY=None)
    assert isinstance(registry.script_expander(local), LocalScriptExpander)
    assert isinstance(registry.video_renderer(local), LocalVideoRenderer)
    assert isinstance(registry.content_checker(local), LocalContentChecker)

    remote = Settings(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=fake.url)
    client = build_client(remote)
    try:
        assert isinstance(registry.script_expander(remote, client=client), OpenAIScriptExpander)
        assert isinstance(registry.video_renderer(remote, client=client), OpenAIVideoRenderer)
        checker = registry.content_checker(remote, client=client)
        assert isinstance(checker, OpenAIContentChecker)
        assert (await checker.check("fine words")).severity == "none"
    finally:
        await client.close()


async def test_the_request_path_factory_falls_back_to_local_terms(
    fake: FakeOpenAI, log_stream: io.StringIO
) -> None:
    from infra.providers.registry import content_checker

    settings = Settings(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=fake.url, MODERATION_TERMS="")
    checker = content_checker(settings, on_error="local")
    assert isinstance(checker, OpenAIContentChecker)
    fake.fail_next("POST", "/v1/moderations", 503)
    try:
        assert (await checker.check("kys")).severity == "severe"  # the local list answered
        assert (await checker.check("all calm")).severity == "none"
        assert len(fake.calls("POST", "/v1/moderations")) == 2
    finally:
        await checker.client.close()
