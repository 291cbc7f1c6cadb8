"""The driver pool's slots (infra.driver_pool._Slots): first come first served, a waiter gives
up after its timeout, and a slot is never lost (to a timeout or a cancelled waiter)."""

from __future__ import annotations

import asyncio
import time

import pytest

from infra.driver_pool import _Slots


async def test_waiters_are_served_in_order_of_arrival() -> None:
    slots = _Slots(1, timeout=5)
    await slots.acquire()
    served: list[int] = []

    async def wait(n: int) -> None:
        await slots.acquire()
        served.append(n)

    waiters = [asyncio.create_task(wait(n)) for n in range(5)]
    await asyncio.sleep(0)
    for _ in range(5):
        slots.release()
        await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert served == [0, 1, 2, 3, 4]


async def test_a_waiter_gives_up_after_its_timeout_and_the_slot_stays() -> None:
    slots = _Slots(1, timeout=0.2)
    await slots.acquire()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await slots.acquire()
    assert 0.15 <= time.monotonic() - started < 2
    late = asyncio.create_task(slots.acquire())  # the timer is set again for this one
    await asyncio.sleep(0.05)
    slots.release()
    await asyncio.wait_for(late, 1)  # the slot went to the waiter still there
    slots.release()
    await asyncio.wait_for(slots.acquire(), 0.05)  # and back: none was lost


async def test_only_expired_waiters_give_up() -> None:
    slots = _Slots(1, timeout=0.3)
    await slots.acquire()
    first = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0.2)
    second = asyncio.create_task(slots.acquire())
    with pytest.raises(TimeoutError):
        await first
    assert not second.done(), "its own deadline has not come"
    slots.release()
    await asyncio.wait_for(second, 1)


async def test_a_waiter_cancelled_as_it_was_served_passes_the_slot_on() -> None:
    slots = _Slots(1, timeout=5)
    await slots.acquire()
    cancelled = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # hands the slot to `cancelled`, which has not run yet
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(slots.acquire(), 0.05)  # the slot came back, not lost


async def test_never_more_holders_than_slots() -> None:
    slots = _Slots(3, timeout=5)
    holding = peak = 0

    async def hold() -> None:
        nonlocal holding, peak
        await slots.acquire()
        holding += 1
        peak = max(peak, holding)
        await asyncio.sleep(0.001)
        holding -= 1
        slots.release()

    await asyncio.gather(*(hold() for _ in range(50)))
    assert peak == 3
