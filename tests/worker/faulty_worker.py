"""Test-only worker: `python -m tests.worker.faulty_worker` pauses a job inside one stage.

It is the real worker (worker.main.main) with one stage of worker.continuation.STAGES wrapped,
so "kill it in the middle of stage X" is deterministic without touching production code.

Environment:
- FAULT_PAUSE_STAGE: the stage to pause in (script_expansion, ..., finalization).
- FAULT_PAUSE_AT: where inside it: "start" (before the stage's work, the default),
  "render_wait" (video_generation, after the provider's video id was stored) or
  "first_upload" (upload, after the first object reached storage).
- FAULT_DIR: on pausing, `paused-<job_id>` is written there; the pause ends when
  `release-<job_id>` appears there, or after FAULT_PAUSE_SECONDS (default 120).
Each job pauses once per process, so a retry in the same worker runs straight through.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from worker import continuation
from worker.pipeline.runtime import StageRun

_paused: set[uuid.UUID] = set()


async def pause(job_id: uuid.UUID, where: str) -> None:
    if job_id in _paused:
        return
    _paused.add(job_id)
    fault_dir = Path(os.environ["FAULT_DIR"])
    (fault_dir / f"paused-{job_id}").write_text(where)
    release = fault_dir / f"release-{job_id}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(os.environ.get("FAULT_PAUSE_SECONDS", "120"))
    # The release comes from another process, as a file: there is no event to wait on.
    while not release.exists() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


class PausingRenderer:
    """The real renderer, pausing before it waits for the video (its id is stored by then)."""

    def __init__(self, inner: Any, job_id: uuid.UUID) -> None:
        self.inner, self.job_id = inner, job_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def wait(self, video_id: str, **kwargs: Any) -> Any:
        await pause(self.job_id, "render_wait")
        return await self.inner.wait(video_id, **kwargs)


class PausingStorage:
    """The real storage, pausing once the first object of the job was written."""

    def __init__(self, inner: Any, job_id: uuid.UUID) -> None:
        self.inner, self.job_id = inner, job_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def put_files(self, files: Sequence[tuple[str, Path]], on_stored: Any = None) -> None:
        await self.inner.put_files(files[:1])
        await pause(self.job_id, "first_upload")
        await self.inner.put_files(files[1:])
        if on_stored is not None:
            await on_stored(len(files))


def pausing(run: Any, where: str) -> Any:
    async def run_with_pause(stage: StageRun) -> dict[str, Any]:
        runtime = stage.runtime
        # Stand-ins that delegate all but one method to the real object.
        wrapper: Any
        if where == "start":
            await pause(stage.job_id, where)
        elif where == "render_wait":
            wrapper = PausingRenderer(runtime.renderer, stage.job_id)
            stage.runtime = replace(runtime, renderer=wrapper)
        elif where == "first_upload":
            wrapper = PausingStorage(runtime.storage, stage.job_id)
            stage.runtime = replace(runtime, storage=wrapper)
        else:
            raise ValueError(f"unknown FAULT_PAUSE_AT: {where}")
        try:
            return await run(stage)
        finally:
            stage.runtime = runtime

    return run_with_pause


def install() -> None:
    name = os.environ["FAULT_PAUSE_STAGE"]
    where = os.environ.get("FAULT_PAUSE_AT", "start")
    if name not in {stage.name for stage in continuation.STAGES}:
        raise ValueError(f"unknown FAULT_PAUSE_STAGE: {name}")
    stages: Any = tuple(
        replace(stage, run=pausing(stage.run, where)) if stage.name == name else stage
        for stage in continuation.STAGES
    )
    continuation.STAGES = stages


def main() -> None:
    from worker.main import main as run_worker

    install()
    run_worker()


if __name__ == "__main__":
    main()
