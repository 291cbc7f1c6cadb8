"""Authorization-matrix builders for a scene's and an idea's life (each call a fresh target)."""

from __future__ import annotations

from typing import Any

from tests.api.authz_table import Call, World
from tests.factories import unique


async def _deleted_scene(w: World) -> dict[str, Any]:
    scene = await w.factory.scene(w.owner, w.idea)
    response = await w.client.delete(f"/v1/scenes/{scene['id']}", headers=w.owner.headers)
    assert response.status_code == 204, response.text
    return scene


async def fresh_scene_patch(w: World, role: str) -> Call:
    scene = await w.factory.scene(w.owner, w.idea)
    return Call(f"/v1/scenes/{scene['id']}", json={"title": unique("Renamed "), "status": "locked"})


async def hidden_scene_patch(w: World, role: str) -> Call:
    return Call(f"/v1/scenes/{w.hidden_scene['id']}", json={"description": "Fog, again."})


async def fresh_scene_delete(w: World, role: str) -> Call:
    scene = await w.factory.scene(w.owner, w.idea)
    return Call(f"/v1/scenes/{scene['id']}")


async def fresh_scene_restore(w: World, role: str) -> Call:
    scene = await _deleted_scene(w)
    return Call(f"/v1/scenes/{scene['id']}/restore")


async def fresh_segment_withdraw(w: World, role: str) -> Call:
    scene = await w.factory.scene(w.owner, w.idea)
    segment = await w.factory.contributed_segment(scene, w.owner)
    return Call(f"/v1/segments/{segment['id']}")


async def fresh_idea_restore(w: World, role: str) -> Call:
    idea = await w.factory.idea(w.owner, w.topic)
    response = await w.client.delete(f"/v1/ideas/{idea['id']}", headers=w.owner.headers)
    assert response.status_code == 204, response.text
    return Call(f"/v1/ideas/{idea['id']}/restore")
