"""An upstream platform's supervised flag puts the appeal under supervision: visible with
``supervised=true`` and, from the first supervision round, as a ``supervised`` event of the platform."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.loop import HistoryEvent
from gateway.records.search import SearchQuery
from gateway.supervision import supervision_of, sweep
from tests.adapters.feed.conftest import Upstream, config, upstream
from tests.conftest import Gateway, eventually

__all__ = ["config", "upstream"]


async def test_an_upstream_supervised_order_is_supervised_and_recorded_as_an_event(
    upstream: Upstream, gateway: Gateway
) -> None:
    await upstream.inject(
        id="DB-7", title="督办件", content="小区燃气管道漏气多日无人处理", supervised=True, deadline_days=2
    )
    runtime = gateway.runtime
    assert runtime.records is not None
    records = runtime.records

    async def found() -> Any:
        result = await records.search(SearchQuery(supervised=True))
        return result["items"] if result["total"] else None

    (item,) = await eventually(found, timeout=10)
    no = item["appeal_no"]
    await asyncio.gather(sweep(runtime), sweep(runtime))  # two at once (another process, the
    await sweep(runtime)  # background round): the platform's supervision is recorded once only
    history = await runtime.appeals.history(no)
    supervised = [e for e in history if e["type"] == "supervised"]
    assert len(supervised) == 1 and supervised[0]["actor"] == "governor-hotline"
    record = await runtime.appeals.get(no)
    assert record is not None and record.appeal.upstream is not None
    assert supervision_of(record, history) == {
        "by": "governor-hotline",
        "at": supervised[0]["at"],
        "note": None,
        "deadline": record.appeal.upstream.deadline.isoformat() if record.appeal.upstream.deadline else None,
    }


async def test_an_upstream_supervised_order_reaches_its_unit_supervised_and_only_once(
    upstream: Upstream, gateway: Gateway
) -> None:
    await upstream.inject(
        id="DB-8", title="督办件", content="小区燃气管道漏气多日无人处理", supervised=True, deadline_days=2
    )
    (delivery,) = await gateway.receiver.wait_for(1, timeout=10)
    event = delivery.json()
    record = await gateway.runtime.appeals.get(event["subject"])
    assert record is not None and record.appeal.upstream is not None
    deadline = record.appeal.upstream.deadline
    assert deadline is not None
    assert event["type"] == "cn.gov.12345.appeal.assigned"
    assert event["data"]["assignment"]["supervision"] == {
        "note": None,
        "deadline": deadline.isoformat(),
        "by": "governor-hotline",
    }
    # the first sweep writes the platform's flag as an event: the unit had it, no update follows
    await sweep(gateway.runtime)
    assert not await gateway.runtime.deliveries.get(f"msg_{record.appeal_no}_supervised_1")
    types = [r.json()["type"] for r in gateway.receiver.received]
    assert "cn.gov.12345.appeal.updated" not in types


async def test_an_event_kept_once_is_recorded_once_however_many_record_it_at_the_same_time(
    upstream: Upstream, gateway: Gateway
) -> None:
    """What the supervision sweep relies on: two sweeps (two processes, or the background round
    and an operator's) never put the platform's supervision in the history twice."""
    await upstream.inject(id="DB-9", title="咨询", content="小区燃气管道漏气多日无人处理")
    (delivery,) = await gateway.receiver.wait_for(1, timeout=10)
    loop = gateway.runtime.loop
    record = await loop.require(delivery.json()["subject"])
    event = HistoryEvent("noted", "governor-hotline", gateway.runtime.clock())
    kept = await asyncio.gather(*(loop.record_event(record, event, once="noted") for _ in range(8)))
    assert sorted(kept) == [False] * 7 + [True]
    history = await loop.history(record.appeal_no)
    assert [e["type"] for e in history].count("noted") == 1
