"""Speech through the real openai client (`audio.speech`) against the local protocol server,
and the `/v1/videos` provider's clip narrated and captioned with it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from openai import AsyncOpenAI

from infra.media import probe
from infra.providers import registry
from infra.providers.base import ProviderError
from infra.providers.openai_client import build_client
from infra.providers.openai_video import OpenAIVideoRenderer
from infra.settings import Settings
from infra.speech.openai_speech import OpenAISpeechEngine
from infra.speech.voices import NARRATOR_VOICE, Cast
from schemas.script import Script
from tests.infra.fake_openai import FakeOpenAI, make_sample_media, serve
from tests.infra.media_checks import cues, mean_volume

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")

BIBLE = {
    "characters": [
        {
            "entityId": "mara",
            "canonicalName": "Mara Quell",
            "aliases": ["Mara"],
            "description": "Harbour pilot; she never smiles.",
            "isActive": True,
        },
        {
            "entityId": "tobin",
            "canonicalName": "Tobin",
            "description": "He rows.",
            "isActive": True,
        },
    ],
    "setting": {"primaryLocation": "Saltmarsh Harbour", "timePeriod": "1890s"},
}
STYLE = {"tone": "tense", "genre": "mystery", "visualStyle": "teal and orange"}


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOpenAI]:
    mp4, thumbnail = make_sample_media(tmp_path_factory.mktemp("fake-speech"), seconds=8)
    with serve(FakeOpenAI(mp4, thumbnail)) as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> FakeOpenAI:
    fake_server.reset()
    return fake_server


@pytest.fixture
def settings(fake: FakeOpenAI) -> Settings:
    return Settings(
        OPENAI_API_KEY="sk-storyloom-test-dummy",
        OPENAI_BASE_URL=fake.url,
        OPENAI_VIDEO_POLL_SECONDS=0.01,
        OPENAI_SPEECH_MODEL="tts-test",
    )


@pytest.fixture
async def sdk(settings: Settings) -> AsyncIterator[AsyncOpenAI]:
    client = build_client(settings)
    yield client
    await client.close()


def script() -> Script:
    return Script.model_validate(
        {
            "shots": [
                {
                    "setting": "The Lighthouse",
                    "characters": ["Mara"],
                    "action": "Mara climbs the stairs.",
                    "dialogue": [{"character": "Mara", "line": "Who lit the lamp?"}],
                    "duration": 2.0,
                },
                {
                    "setting": "The Lighthouse",
                    "characters": ["Mara", "Tobin"],
                    "action": "Tobin looks away.",
                    "dialogue": [{"character": "Tobin", "line": "Not me, Captain."}],
                    "duration": 2.0,
                },
            ]
        }
    )


async def test_speech_comes_from_audio_speech_in_each_characters_voice(
    fake: FakeOpenAI, sdk: AsyncOpenAI
) -> None:
    engine = OpenAISpeechEngine(sdk, model="tts-test")
    cast = Cast.of(BIBLE)
    pcm = await engine.speak("Who lit the lamp?", cast.voice("Mara"))
    assert len(pcm) > engine.sample_rate * 2 * 0.5  # over half a second of 24 kHz speech
    await engine.speak("Night falls.", NARRATOR_VOICE)
    calls = fake.calls("POST", "/v1/audio/speech")
    assert [c.body["response_format"] for c in calls] == ["pcm", "pcm"]
    assert calls[0].body["model"] == "tts-test" and calls[0].body["input"] == "Who lit the lamp?"
    assert calls[0].body["voice"] in ("coral", "nova", "shimmer", "sage")  # she
    assert calls[1].body["voice"] == "fable"
    assert engine.voice_of(cast.voice("Mara Quell")) == calls[0].body["voice"]


async def test_a_failed_speech_request_is_a_provider_error(
    fake: FakeOpenAI, sdk: AsyncOpenAI
) -> None:
    fake.fail_next("POST", "/v1/audio/speech", 503)
    engine = OpenAISpeechEngine(sdk, model=Settings.model_construct().openai_speech_model)
    with pytest.raises(ProviderError) as caught:
        await engine.speak("Hello.", NARRATOR_VOICE)
    assert caught.value.code == "speech_failed" and caught.value.retryable


async def test_the_providers_clip_is_narrated_and_captioned(
    fake: FakeOpenAI, settings: Settings, sdk: AsyncOpenAI, tmp_path: Path
) -> None:
    renderer = registry.video_renderer(settings, client=sdk)
    assert isinstance(renderer, OpenAIVideoRenderer)
    video_id = await renderer.submit(script(), STYLE, tmp_path, bible=BIBLE)
    video = await renderer.wait(video_id)

    assert video.captions is not None
    found = cues(video.captions.read_text())
    assert [(c.speaker, c.text) for c in found] == [
        ("Mara Quell", "Who lit the lamp?"),
        ("Tobin", "Not me, Captain."),
    ]
    info = await probe(video.mp4)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert info.duration == pytest.approx(8.0, abs=0.1)
    assert all(0 < c.start < c.end <= info.duration for c in found)
    # Dialogue only (the clip shows the action): one request per line.
    assert len(fake.calls("POST", "/v1/audio/speech")) == 2
    # The mix carries sound where they speak (the voices over the ducked bed of the clip).
    spoken = [mean_volume(video.mp4, c.start + 0.05, c.end - 0.05) for c in found]
    assert all(level > -30 for level in spoken), spoken

    # Resumed after the download: the finished files, nothing fetched or spoken again.
    again = registry.video_renderer(settings, client=sdk)
    assert (
        await again.submit(script(), STYLE, tmp_path, resume_id=video_id, bible=BIBLE) == video_id
    )
    assert await again.wait(video_id) == video
    assert len(fake.calls("POST", "/v1/audio/speech")) == 2
