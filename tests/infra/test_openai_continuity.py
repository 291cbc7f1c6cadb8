"""The second opinion on unsure continuity findings: the real openai client, a local server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.bible.second_opinion import settle
from domain.bible.text_check import check_text, reading_of
from infra.providers.base import ProviderError
from infra.providers.openai_continuity import SCHEMA_NAME
from infra.providers.registry import continuity_reviewer
from infra.settings import Settings
from tests.domain.continuity_corpus import load
from tests.infra.fake_openai import FakeOpenAI, make_sample_media, serve

BIBLE, SEGMENT, _ = load()
# A bare name after a look at the sea may be a thought or a man standing there: unsure.
UNSURE = "Mara stares at the grey sea. Elias."
SURE = "Elias Vane walks into the tavern."


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOpenAI]:
    mp4, thumbnail = make_sample_media(tmp_path_factory.mktemp("fake-openai"))
    with serve(FakeOpenAI(mp4, thumbnail)) as server:
        yield server


def settings_for(fake: FakeOpenAI) -> Settings:
    return Settings(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake.url, MODERATION_TERMS="")


async def judged(fake: FakeOpenAI, text: str, verdict: str) -> list[str]:
    fake.reset()
    fake.opinion_verdict = verdict
    findings = check_text(text, BIBLE, segment_number=SEGMENT)
    settled = await settle(
        findings, text, reading_of(BIBLE), lambda: continuity_reviewer(settings_for(fake))
    )
    return [f.message for f in settled]


async def test_an_unsure_finding_is_dropped_when_the_model_finds_it_consistent(
    fake: FakeOpenAI,
) -> None:
    [finding] = check_text(UNSURE, BIBLE)
    assert finding.sure is False and finding.entity == "char_elias"
    assert await judged(fake, UNSURE, "consistent") == []
    [call] = fake.calls("POST", "/v1/chat/completions")
    response_format = call.body["response_format"]
    assert response_format["json_schema"]["name"] == SCHEMA_NAME
    assert response_format["json_schema"]["strict"] is True
    assert set(response_format["json_schema"]["schema"]["required"]) == {
        "verdict", "entity", "reason", "quoted_span"
    }  # fmt: skip
    user = call.body["messages"][1]["content"]
    assert "Bible entry: char_elias (Elias Vane)" in user and "Marked sentence: Elias." in user


async def test_an_unsure_finding_stays_with_the_model_s_reason(fake: FakeOpenAI) -> None:
    [message] = await judged(fake, UNSURE, "violation")
    assert "'Elias Vane' is inactive but appears" in message
    assert message.endswith("(second opinion: The fake judged it violation.)")


async def test_sure_findings_never_ask_the_model(fake: FakeOpenAI) -> None:
    [message] = await judged(fake, SURE, "consistent")
    assert "is inactive but acts" in message
    assert fake.calls("POST", "/v1/chat/completions") == []


async def test_without_a_key_the_rules_decide_alone() -> None:
    assert continuity_reviewer(Settings(OPENAI_API_KEY=None)) is None
    findings = check_text(UNSURE, BIBLE)
    assert await settle(findings, UNSURE, reading_of(BIBLE), lambda: None) == findings


async def test_a_bad_answer_keeps_the_rules_verdict_and_an_outage_retries(
    fake: FakeOpenAI,
) -> None:
    [message] = await judged(fake, UNSURE, "garbage")
    assert "second opinion" not in message
    fake.reset()
    fake.fail_next("POST", "/v1/chat/completions", 503)
    findings = check_text(UNSURE, BIBLE)
    with pytest.raises(ProviderError) as raised:
        await settle(
            findings, UNSURE, reading_of(BIBLE), lambda: continuity_reviewer(settings_for(fake))
        )
    assert raised.value.retryable is True


async def test_the_continuity_model_is_its_own_setting(fake: FakeOpenAI) -> None:
    settings = settings_for(fake).model_copy(update={"openai_continuity_model": "gpt-judge"})
    reviewer = continuity_reviewer(settings)
    assert reviewer is not None and reviewer.model == "gpt-judge"
    default = continuity_reviewer(settings_for(fake))
    assert default is not None and default.model == settings_for(fake).openai_script_model
