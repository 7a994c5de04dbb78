"""The supervision round the loop's deadline sweep calls: a supervised appeal whose step is late
escalates to its unit's parent unit and the centre (an alert, a delivery each, an event in the
history), once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gateway.records.search import SearchQuery
from gateway.supervision import EVENT_ESCALATED, escalation_targets, sweep
from tests.conftest import FakeClock, eventually, start_gateway

LAMP = "南湖小区门口路灯不亮，晚上很黑"


async def test_a_late_supervised_appeal_escalates_to_the_parent_and_the_centre(
    config: Any, redis: Any, keys: Any, registry: Any, receiver: Any, clock: FakeClock, tmp_path: Any
) -> None:
    record_url = f"sqlite+aiosqlite:///{tmp_path / 'record.db'}"
    gw = await start_gateway(config, redis, keys, registry, receiver, clock=clock, database_url=record_url)
    try:
        no = await gw.post_appeal(description=LAMP)
        record = await gw.wait_state(no, "dispatched")
        await receiver.wait_for(1)
        deadline = clock.now + timedelta(hours=1)
        response = await gw.client.post(
            f"/api/v1/appeals/{no}/supervise",
            json={"note": "市考核办督办", "deadline": deadline.isoformat()},
            headers={"Authorization": "Bearer test-operator-token"},
        )
        assert response.status == 200, await response.text()
        runtime = gw.runtime
        assert runtime.records is not None

        async def recorded() -> bool:  # the sweep finds supervised appeals in the record
            found = await runtime.records.search(SearchQuery(supervised=True))  # type: ignore[union-attr]
            return bool(found["total"])

        await eventually(recorded)
        sign_by = datetime.fromisoformat(record.deadlines["sign_by"])
        clock.now = max(sign_by, deadline) + timedelta(minutes=1)
        notices = await sweep(runtime)
        targets = escalation_targets(runtime.config.network, record.unit)
        assert {(n.kind, n.step) for n in notices} == {
            ("escalation", "sign_by"),
            ("escalation", "supervision"),
        }
        assert all(n.to == targets for n in notices)
        assert await sweep(runtime) == []  # once: no second alert, no second delivery
        alerts = [a for a in await runtime.alerts.active() if a["kind"] == "supervision_escalated"]
        assert {a["step"] for a in alerts} == {"sign_by", "supervision"}
        received = await receiver.wait_for(1 + 2 * len(targets))
        escalated = [r for r in received if r.json()["type"] == EVENT_ESCALATED]
        assert sorted(r.unit for r in escalated) == sorted(targets * 2)
        assert {r.json()["data"]["assignment"]["step"] for r in escalated} == {"sign_by", "supervision"}
        history = await runtime.appeals.history(no)
        assert [e["type"] for e in history].count("supervision_escalated") == 2
    finally:
        await gw.client.close()
