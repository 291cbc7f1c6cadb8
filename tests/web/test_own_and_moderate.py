"""Own, Moderate and Admin in a browser: create idea and scene, report, hide, race the bible."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import update

from domain.moderation.models import ModerationFlag
from domain.users.models import Role
from tests.factories import Account, Factory, unique
from tests.web.conftest import (
    DESKTOP,
    OpenAs,
    assert_fits_a_phone,
    axe_violations,
    screenshot,
    tab_to,
)
from tests.web.test_discover import a_topic_past_the_first_page


async def final_segment(client: httpx.AsyncClient, owner: Account, scene_id: str) -> str:
    """A continuation through the real worker; the text of the segment it made."""
    text = f"Mara lights the lamp on the pier. {uuid.uuid4().hex[:6]}"
    headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}
    job = await client.post(
        f"/v1/scenes/{scene_id}/continuations", json={"text": text}, headers=headers
    )
    assert job.status_code == 202, job.text
    for _ in range(600):
        state = (await client.get(f"/v1/jobs/{job.json()['id']}", headers=owner.headers)).json()
        if state["status"] in ("final_ready", "failed", "cancelled"):
            assert state["status"] == "final_ready", state
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the continuation did not finish in 60 s")
    segments = (await client.get(f"/v1/scenes/{scene_id}/segments")).json()["items"]
    return str(segments[-1]["text"])


@pytest.mark.usefixtures("worker")
async def test_create_idea_and_scene_then_a_reported_segment_is_hidden_at_once(
    open_as: OpenAs, factory: Factory, client: httpx.AsyncClient
) -> None:
    owner, reader = await factory.account(), await factory.account()
    moderator = await factory.account(Role.MODERATOR)
    topic = await a_topic_past_the_first_page(client, factory)  # the form offers every topic

    # The owner writes an idea through the form.
    page = await open_as(owner)
    await page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Moderate")).to_have_count(0)
    await nav.get_by_role("link", name="New idea").click()
    await expect(page.get_by_role("heading", name="New idea")).to_be_visible()
    await page.get_by_label("Topic").select_option(label=topic["name"])
    idea_title = unique("The lamp keeper ")
    await page.get_by_label("Title").fill(idea_title)
    await page.get_by_label("Prompt").fill("A lamp keeper finds the pier lamp lit every night.")
    await page.get_by_label("Tags").fill("mystery, sea")
    await page.get_by_role("button", name="Create idea").click()

    # Then its scene: a bible breaking the schema shows the error at the field it names.
    await expect(page.get_by_role("heading", name="New scene")).to_be_visible()
    await expect(page.get_by_text(f"From the idea “{idea_title}”")).to_be_visible()
    scene_title = unique("Night on the pier ")
    await page.get_by_label("Scene title").fill(scene_title)
    await page.get_by_label("Description", exact=True).fill("Fog, a lamp, a stranger.")
    await page.get_by_label("Character 1 name").fill("Mara Hart")
    await page.get_by_label("Character 1 description").fill("The lamp keeper.")
    await page.get_by_label("Time period").fill("1920s")
    await page.get_by_label("Tone").fill("tense")
    await page.get_by_label("Genre").fill("mystery")
    await page.get_by_label("Visual style").fill("sepia")
    # The design's schema leaves the location optional but caps a name at 200 characters.
    location = page.get_by_label("Location")
    await location.fill("The Old Pier " * 20)
    await page.get_by_role("button", name="Create scene").click()
    await expect(location).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#bible-setting-primaryLocation-error")).to_be_visible()
    assert await axe_violations(page) == []
    await location.fill("The Old Pier")
    editor = page.get_by_label("The whole bible as JSON")
    # The JSON editor follows the form: read it once it has the new location.
    await expect(editor).to_have_value(re.compile(r'"primaryLocation":\s*"The Old Pier"'))
    # A field the form does not show: its error appears beside the JSON editor, at its pointer.
    doc = json.loads(await editor.input_value())
    doc["timeline"]["majorEvents"] = [{"segmentNumber": "first", "event": "The lamp goes out"}]
    await editor.fill(json.dumps(doc))
    await page.get_by_role("button", name="Create scene").click()
    beside = page.locator("#bible-json-errors")
    await expect(beside).to_contain_text("/timeline/majorEvents/0/segmentNumber")
    await expect(location).to_have_attribute("aria-invalid", "false")
    doc["timeline"]["majorEvents"][0]["segmentNumber"] = 0
    await editor.fill(json.dumps(doc))
    await page.get_by_role("button", name="Add a plot thread").click()
    await page.get_by_label("Thread 1", exact=True).fill("Who lights the lamp?")
    await page.get_by_role("button", name="Create scene").click()
    await expect(page.get_by_role("heading", name=scene_title)).to_be_visible()
    scene_id = page.url.rsplit("/", 1)[-1]
    bible = (await client.get(f"/v1/scenes/{scene_id}/bible")).json()["data"]
    assert bible["setting"]["primaryLocation"] == "The Old Pier"
    assert bible["plotThreads"][0]["description"] == "Who lights the lamp?"

    segment_text = await final_segment(client, owner, scene_id)

    # A second person likes the scene and reports the segment.
    page = await open_as(reader)
    await page.goto(f"/scenes/{scene_id}")
    await expect(page.get_by_text(segment_text)).to_be_visible()
    await page.get_by_role("button", name="♡ Like · 0").click()
    await expect(page.get_by_role("button", name="♥ Liked · 1")).to_be_visible()
    await page.get_by_role("button", name="Report part 1").click()
    report = page.get_by_role("form", name="Report part 1")
    await report.get_by_label("Reason").select_option("harassment")
    await report.get_by_label("What is wrong (optional)").fill("It names a real neighbour.")
    await report.get_by_role("button", name="Send report").click()
    await expect(page.get_by_text("your report was sent to the moderators")).to_be_visible()
    idea_id = (await client.get(f"/v1/scenes/{scene_id}")).json()["idea_id"]
    flagged = await client.post(
        "/v1/flags",
        json={"target_type": "idea", "target_id": idea_id, "reason": "off_topic"},
        headers=reader.headers,
    )
    assert flagged.status_code == 201, flagged.text
    # The run's other tests leave open reports, some ranked higher: this moderator's queue
    # holds only this reader's two, as a quiet day's would.
    async with factory.app.state.db.transaction() as session:
        await session.execute(
            update(ModerationFlag)
            .where(
                ModerationFlag.status.in_(("pending", "reviewing")),
                ModerationFlag.reporter_id.is_distinct_from(uuid.UUID(reader.id)),
            )
            .values(status="dismissed")
        )

    # The moderator sees it in context, claims it and hides it.
    page = await open_as(moderator)
    await page.goto("/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Moderate").click()
    await expect(page.get_by_role("heading", name="Moderation", exact=True)).to_be_visible()
    segment_heading = page.get_by_role("heading", name=segment_text[:40])
    item = page.get_by_role("listitem").filter(has=segment_heading)
    await expect(item.get_by_role("link", name=scene_title)).to_be_visible()
    await expect(item.get_by_text("Harassment or bullying").first).to_be_visible()
    await expect(item.locator("video")).to_have_count(1)
    await item.get_by_role("button", name="Claim").click()
    review = page.get_by_role("region", name="Under review")
    claimed = review.get_by_role("listitem").filter(has=segment_heading)
    await expect(claimed.get_by_text("claimed by you")).to_be_visible()
    assert await axe_violations(page) == []
    # Chromium's native HLS shows no subtitles rendition: the player hands the captioned
    # segment to hls.js (the captions button says so); the shot waits for it to settle.
    await expect(claimed.get_by_role("button", name="Captions off")).to_be_visible()
    await page.wait_for_function(
        "(v => v?.dataset.engine && v.readyState >= 2)(document.querySelector('.context video'))"
    )
    await screenshot(page, "moderation")
    await claimed.get_by_label("Action").select_option("hide")
    await claimed.get_by_role("button", name="Resolve").click()
    await expect(page.get_by_role("status").filter(has_text="Resolved (hide it)")).to_be_visible()
    audit = page.get_by_role("region", name="Audit trail")
    # This moderator's own rows: other tests' decisions share the trail.
    mine = audit.get_by_role("row").filter(has=page.get_by_role("cell", name="you", exact=True))
    await expect(mine.filter(has=page.get_by_role("cell", name="hide", exact=True))).to_have_count(
        1
    )

    # A bulk decision: select the idea's item, one action for the selection.
    waiting = page.get_by_role("region", name="Waiting for a moderator")
    await waiting.get_by_role("checkbox", name=f"Select Idea: {idea_title}").check()
    bulk = page.get_by_role("region", name="Bulk decision")
    await bulk.get_by_label("Decision for all selected").select_option("none")
    await bulk.get_by_role("button", name="Apply to 1 selected").click()
    done = page.get_by_role("status").filter(has_text="1 selected: 1 resolved")
    await expect(done).to_be_visible()
    await expect(waiting.get_by_text("No reports waiting")).to_be_visible()
    await expect(mine.filter(has=page.get_by_role("cell", name="none", exact=True))).to_have_count(
        1
    )

    # Gone from the public pages at once: a visitor and the reporter no longer see it.
    for who in (None, reader):
        page = await open_as(who)
        await page.goto(f"/scenes/{scene_id}")
        await expect(page.get_by_role("heading", name=scene_title)).to_be_visible()
        await expect(page.get_by_text("No segments yet")).to_be_visible()
        await expect(page.get_by_text(segment_text)).to_have_count(0)


async def test_the_queue_is_in_priority_order_claimed_resolved_and_dismissed_by_keyboard(
    open_as: OpenAs, factory: Factory, client: httpx.AsyncClient
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    reporters = [await factory.account() for _ in range(3)]
    # Three reporters each: self-harm weighs 5, violence 4, so 15 against 12 (the scoring in
    # domain/moderation/scoring.py), high enough to lead a queue other tests share. The more
    # urgent is reported first: a newest-first queue would put it second.
    urgent = await factory.idea(owner, title=unique("The cliff path "))
    lesser = await factory.idea(owner, title=unique("The broken oar "))
    for idea, reason in ((urgent, "self_harm"), (lesser, "violence")):
        for reporter in reporters:
            flagged = await client.post(
                "/v1/flags",
                json={"target_type": "idea", "target_id": idea["id"], "reason": reason},
                headers=reporter.headers,
            )
            assert flagged.status_code == 201, flagged.text

    page = await open_as(moderator)
    await page.goto("/moderate")
    waiting = page.get_by_role("region", name="Waiting for a moderator")
    first, second = f"Idea: {urgent['title']}", f"Idea: {lesser['title']}"
    await expect(waiting.get_by_role("heading", name=second)).to_be_visible()
    titles = await waiting.get_by_role("heading", level=3).all_inner_texts()
    assert titles.index(first) < titles.index(second), titles
    urgent_item = waiting.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=first)
    )
    await expect(urgent_item.get_by_text("priority 15.0")).to_be_visible()
    lesser_item = waiting.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=second)
    )
    await expect(lesser_item.get_by_text("priority 12.0")).to_be_visible()

    # The keyboard alone claims and resolves.
    await tab_to(page, urgent_item.get_by_role("button", name="Claim"), presses=200)
    await page.keyboard.press("Enter")
    review = page.get_by_role("region", name="Under review")
    claimed = review.get_by_role("listitem").filter(has=page.get_by_role("heading", name=first))
    await expect(claimed.get_by_text("claimed by you")).to_be_visible()
    await claimed.get_by_label("Action").select_option("none")
    await tab_to(page, claimed.get_by_role("button", name="Resolve"), presses=200)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status").filter(has_text="Resolved (no action")).to_be_visible()

    # Dismiss: the reports go, the audit trail says so.
    await lesser_item.get_by_label("Notes (optional)").fill("An oar in a story about oars.")
    await lesser_item.get_by_role("button", name="Dismiss").click()
    dismissed = page.get_by_role("status").filter(has_text=f"Dismissed the reports on {second}")
    await expect(dismissed).to_be_visible()
    await expect(waiting.get_by_role("heading", name=second)).to_have_count(0)
    audit = page.get_by_role("region", name="Audit trail")
    for idea, action in ((urgent, "none"), (lesser, "dismiss")):
        row = audit.get_by_role("row").filter(has_text=f"idea {idea['id'][:8]}")
        await expect(row.get_by_role("cell", name=action, exact=True)).to_have_count(1)
        await expect(row.get_by_role("cell", name="you", exact=True)).to_have_count(1)
    assert await axe_violations(page) == []
    await assert_fits_a_phone(page)


async def test_a_bible_edit_racing_another_gets_the_412_screen_and_succeeds_on_retry(
    open_as: OpenAs, factory: Factory, client: httpx.AsyncClient
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    page = await open_as(owner)
    await page.goto(f"/scenes/{scene['id']}")
    await page.get_by_role("link", name="Edit the bible").click()
    await expect(page.get_by_text("Editing version 1.")).to_be_visible()
    assert await axe_violations(page) == []
    await assert_fits_a_phone(page)
    await page.set_viewport_size(DESKTOP)
    await page.get_by_label("Tone").fill("wry")

    # Someone else saves between the load and the save.
    current = (await client.get(f"/v1/scenes/{scene['id']}/bible")).json()["data"]
    current["setting"]["timePeriod"] = "The age of steam"
    other = await client.put(
        f"/v1/scenes/{scene['id']}/bible",
        json={"data": current},
        headers={**owner.headers, "If-Match": '"1"'},
    )
    assert other.status_code == 200, other.text

    await tab_to(page, page.get_by_role("button", name="Save the bible"))
    await page.keyboard.press("Enter")
    stale = page.get_by_role("region", name="Someone changed the bible while you were editing")
    await expect(stale).to_be_visible()
    assert await axe_violations(page) == []
    await expect(stale.get_by_text("it is now at version 2")).to_be_visible()
    await expect(stale.get_by_text("“The age of steam”")).to_be_visible()
    await stale.get_by_role("button", name="Reapply my change on version 2 and save").click()
    await expect(page.get_by_text("Saved: the bible is now at version 3")).to_be_visible()

    saved = (await client.get(f"/v1/scenes/{scene['id']}/bible")).json()
    assert saved["version"] == 3
    assert saved["data"]["styleGuide"]["tone"] == "wry"
    assert saved["data"]["setting"]["timePeriod"] == "The age of steam"

    # Both change the tone: the conflict is named, the editor keeps their own value and saves.
    await page.get_by_label("Tone").fill("dry")
    saved["data"]["styleGuide"]["tone"] = "bleak"
    other = await client.put(
        f"/v1/scenes/{scene['id']}/bible",
        json={"data": saved["data"]},
        headers={**owner.headers, "If-Match": '"3"'},
    )
    assert other.status_code == 200, other.text
    await page.get_by_role("button", name="Save the bible").click()
    await stale.get_by_role("button", name="Reapply my change on version 4 and save").click()
    both = page.get_by_role("region", name="Your change and theirs touch the same places")
    await expect(both).to_contain_text("Style guide › tone")
    await expect(both).to_contain_text("Theirs: “bleak” · Yours: “dry”")
    await expect(page.get_by_label("Tone")).to_have_value("bleak")
    await both.get_by_role("button", name="Use mine").click()
    await expect(page.get_by_label("Tone")).to_have_value("dry")
    await page.get_by_role("button", name="Save the bible").click()
    await expect(page.get_by_text("Saved: the bible is now at version 5")).to_be_visible()
    final = (await client.get(f"/v1/scenes/{scene['id']}/bible")).json()["data"]
    assert final["styleGuide"]["tone"] == "dry"


async def test_moderate_and_admin_say_who_may_enter(open_as: OpenAs, factory: Factory) -> None:
    user, admin = await factory.account(), await factory.account(Role.ADMIN)
    page = await open_as(None)
    await page.goto("/moderate")
    await expect(page.get_by_role("heading", name="Moderation")).to_be_visible()
    await page.get_by_role("main").get_by_role("link", name="sign in").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page = await open_as(user)
    for path in ("/moderate", "/admin"):
        await page.goto(path)
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("Not allowed")
        await expect(alert).to_contain_text(user.username)

    page = await open_as(admin)
    await page.goto("/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    await expect(page.get_by_role("heading", name="Partitions")).to_be_visible()
    assert await axe_violations(page) == []
    for table in ("segments", "jobs"):
        section = page.get_by_role("region", name=table)
        await expect(section.get_by_text(re.compile(r"^\d+ months? ahead$"))).to_be_visible()
        # The header row and at least one partition (the current month's, made by the migrations).
        assert await section.get_by_role("row").count() > 1


async def test_a_moderator_restores_deleted_scenes_and_ideas_from_the_moderation_page(
    open_as: OpenAs, factory: Factory, client: httpx.AsyncClient
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    scene = await factory.scene(owner, title=unique("Drowned bell "))
    idea = await factory.idea(owner)
    for path in (f"/v1/scenes/{scene['id']}", f"/v1/ideas/{idea['id']}"):
        assert (await client.delete(path, headers=owner.headers)).status_code == 204

    page = await open_as(moderator)
    await page.goto("/moderate")
    section = page.get_by_role("region", name="Deleted, still restorable")
    row = section.get_by_role("listitem").filter(has_text=scene["title"])
    await expect(row).to_contain_text("restorable until")
    await expect(section.get_by_role("button", name="Scenes")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert await axe_violations(page) == []
    await screenshot(page, "moderation-deleted")
    await row.get_by_role("button", name=f"Restore {scene['title']}").click()
    await expect(page.get_by_role("status")).to_contain_text(
        f"Restored the scene “{scene['title']}”"
    )
    await expect(row).to_have_count(0)
    assert (await client.get(f"/v1/scenes/{scene['id']}")).status_code == 200

    await section.get_by_role("button", name="Ideas").click()
    idea_row = section.get_by_role("listitem").filter(has_text=idea["title"])
    await idea_row.get_by_role("button", name="Restore").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Restored the idea “{idea['title']}”")
    await expect(idea_row).to_have_count(0)
    assert (await client.get(f"/v1/ideas/{idea['id']}")).json()["status"] == "active"
