"""Repeat detection bounded by work as the record grows: an appeal's MinHash signature is computed
once and kept in its row (cleared when its text changes), and the place-and-topic candidates come
from their own index, not from every appeal of the area."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records import write
from gateway.records.db import is_sqlite
from gateway.records.links import LinkPolicy, signature
from gateway.records.repeats import _SAME_PLACE_AND_TOPIC, link_new
from gateway.records.rows import appeal_row
from gateway.records.schema import appeals
from normalizer import SHANGHAI
from tests.records.seed import appeal_hash, seed

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
LITTER = "小区门口的垃圾桶已经三天没有清运，气味很大"


async def _signature(engine: AsyncEngine, no: str) -> bytes | None:
    async with engine.connect() as conn:
        found: bytes | None = (
            await conn.execute(select(appeals.c.minhash).where(appeals.c.appeal_no == no))
        ).scalar()
        return found


async def test_an_appeal_is_hashed_once_and_again_only_when_its_text_changes(engine: AsyncEngine) -> None:
    first = appeal_hash("BB-20261102-000001", content=LITTER, received_at=T0, area="a")
    await seed(engine, [first])
    async with engine.begin() as conn:
        await link_new(conn, ["BB-20261102-000001"], LinkPolicy(), T0 + timedelta(hours=1))
    stored = await _signature(engine, "BB-20261102-000001")
    subject = appeal_row(first, lambda _a: None, T0)["subject"]
    assert stored == signature(f"{subject}{LITTER}".replace("，", ""))

    # a later event of the appeal, same text: the signature stays
    later = appeal_hash("BB-20261102-000001", content=LITTER, received_at=T0, area="a", state="signed") | {
        "updated_at": (T0 + timedelta(hours=2)).isoformat()
    }
    async with engine.begin() as conn:
        await write.upsert_appeals(conn, [appeal_row(later, lambda _a: None, T0 + timedelta(hours=2))])
    assert await _signature(engine, "BB-20261102-000001") == stored

    # a follow-up changed the text: the stale signature is cleared, to be computed from the new text
    changed = appeal_hash(
        "BB-20261102-000001", content=LITTER + "。补充：已经一周了", received_at=T0, area="a", state="signed"
    ) | {"updated_at": (T0 + timedelta(hours=3)).isoformat()}
    async with engine.begin() as conn:
        await write.upsert_appeals(conn, [appeal_row(changed, lambda _a: None, T0 + timedelta(hours=3))])
    assert await _signature(engine, "BB-20261102-000001") is None


async def test_place_and_topic_candidates_come_from_their_own_index(engine: AsyncEngine) -> None:
    """Thousands of the area's appeals of other topics are not read to find the few of its topic."""
    rows = []
    for i in range(3000):
        category = ("城乡建设",) if i % 500 == 0 else ("交通运输",)
        at = T0 + timedelta(minutes=i)
        h = appeal_hash(f"BB-20261102-{i + 1:06d}", content=LITTER, received_at=at, category=category)
        h["appeal"] = h["appeal"].replace('"area":null', '"area":"a"')
        rows.append(appeal_row(h, lambda _a: None, T0))
    async with engine.begin() as conn:
        await conn.execute(appeals.insert(), rows)
        await conn.execute(text("ANALYZE"))
    params = {"area": "a", "category": "城乡建设", "since": T0, "at": T0 + timedelta(days=3), "no": "-"}
    async with engine.connect() as conn:
        found = [r.appeal_no for r in await conn.execute(_SAME_PLACE_AND_TOPIC, params)]
        query = _SAME_PLACE_AND_TOPIC.params(params)
        sql = str(query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if is_sqlite(engine) else "EXPLAIN "
        plan = " ".join(str(row) for row in (await conn.execute(text(explain + sql))).all())
    assert len(found) == 6 and found[0] == "BB-20261102-002501"  # newest first
    assert "ix_appeals_place_topic" in plan


async def test_an_earlier_appeal_recorded_without_a_signature_is_compared_and_signed(
    engine: AsyncEngine,
) -> None:
    """Appeals recorded before migration 0007 have no signature: they are hashed from their text
    when first compared, linked as before, and keep the signature."""
    earlier = appeal_hash("BB-20261102-000001", content=LITTER, received_at=T0, channel="sms-12345")
    later = appeal_hash("BB-20261102-000002", content=LITTER + "！", received_at=T0 + timedelta(hours=1))
    await seed(engine, [earlier, later])
    assert await _signature(engine, "BB-20261102-000001") is None
    async with engine.begin() as conn:
        links = await link_new(conn, ["BB-20261102-000002"], LinkPolicy(), T0 + timedelta(hours=2))
    assert [(link.earlier_no, link.kind) for link in links] == [("BB-20261102-000001", "duplicate")]
    assert any("垃圾桶" in word for word in links[0].why["words"])  # the texts were read for the reasons
    assert await _signature(engine, "BB-20261102-000001") is not None
