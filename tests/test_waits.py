"""Background loops stop when cancelled, whatever they were waiting for (serve's stop and every
test's teardown wait for them)."""

from __future__ import annotations

import asyncio

from adapters.base import stop_task, wait_event


async def _waiting_loop(event: asyncio.Event, rounds: list[int]) -> None:
    while True:
        rounds.append(1)
        await wait_event(event, 30.0)
        event.clear()


async def test_a_cancel_landing_as_the_event_is_set_stops_the_loop() -> None:
    event, rounds = asyncio.Event(), []
    task = asyncio.create_task(_waiting_loop(event, rounds))
    while not rounds:  # until the loop waits on the event
        await asyncio.sleep(0)
    event.set()
    task.cancel()  # the same turn of the event loop: Python 3.11's wait_for would drop this cancel
    done, _ = await asyncio.wait([task], timeout=5.0)
    assert task in done and task.cancelled()
    assert len(rounds) == 1


async def test_wait_event_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 5.0) is True


async def test_a_task_that_will_not_stop_is_left_after_its_time() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # swallows every cancel, as a faulty library can

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    assert await stop_task(task, 0.05) is False
    release.set()
    assert await stop_task(task, 5.0) is True
