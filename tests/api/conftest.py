"""API tests share the run's database: nothing they leave may make a later worker reach out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.api.webhook_targets import forget_outside_endpoints


@pytest.fixture(autouse=True)
async def no_endpoint_outlives_its_test(app: Any) -> AsyncIterator[None]:
    yield
    await forget_outside_endpoints(app)
