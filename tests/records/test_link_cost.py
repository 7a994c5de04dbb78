"""Repeat detection bounded by work as the record grows: an appeal's MinHash signature is computed
once and kept in its row (cleared when its text changes), the place-and-topic candidates come from
their own index, not from every appeal of the area, and cross-channel duplicates from the MinHash
bands of the duplicate hours, not from reading the hours' appeals."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import Connection, event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records import write
from gateway.records.db import is_sqlite, make_engine
from gateway.records.links import BANDS, LinkPolicy, signature, text_of
from gateway.records.migrate import alembic_config, head, upgrade
from gateway.records.repeats import _SAME_PLACE_AND_TOPIC, link_new
from gateway.records.rows import appeal_row
from gateway.records.schema import appeal_bands, appeal_links, appeals
from normalizer import SHANGHAI
from tests.records.seed import appeal_hash, seed

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
LITTER = "小区门口的垃圾桶已经三天没有清运，气味很大"
_AT = (LinkPolicy(), T0 + timedelta(hours=1))  # link_new's policy and clock, an hour after T0


async def _signature(engine: AsyncEngine, no: str) -> bytes | None:
    async with engine.connect() as conn:
        found: bytes | None = (
            await conn.execute(select(appeals.c.minhash).where(appeals.c.appeal_no == no))
        ).scalar()
        return found


async def test_an_appeals_signature_is_written_with_its_row_and_follows_its_text(engine: AsyncEngine) -> None:
    first = appeal_hash("BB-20261102-000001", content=LITTER, received_at=T0, area="a")
    await seed(engine, [first])
    subject = appeal_row(first, lambda _a: None, T0)["subject"]
    assert await _signature(engine, "BB-20261102-000001") == signature(text_of(subject, LITTER))

    # a follow-up changed the text: the row's next upsert carries the new text's signature
    more = LITTER + "。补充：已经一周了"
    changed = appeal_hash("BB-20261102-000001", content=more, received_at=T0, area="a", state="signed") | {
        "updated_at": (T0 + timedelta(hours=3)).isoformat()
    }
    async with engine.begin() as conn:
        await write.upsert_appeals(conn, [appeal_row(changed, lambda _a: None, T0 + timedelta(hours=3))])
    assert await _signature(engine, "BB-20261102-000001") == signature(text_of(subject, more))


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
    phone = "13912341234"  # found through the same citizen (it has no bands either: see 0008)
    earlier = appeal_hash(
        "BB-20261102-000001", content=LITTER, received_at=T0, channel="sms-12345", phone=phone
    )
    at = T0 + timedelta(hours=1)
    later = appeal_hash("BB-20261102-000002", content=LITTER + "！", received_at=at, phone=phone)
    async with engine.begin() as conn:  # as the recorder before 0007 wrote them: no signature
        rows = [appeal_row(h, lambda _a: None, T0) | {"minhash": None} for h in (earlier, later)]
        await write.upsert_appeals(conn, rows)
    assert await _signature(engine, "BB-20261102-000001") is None
    async with engine.begin() as conn:
        links = await link_new(conn, ["BB-20261102-000002"], LinkPolicy(), T0 + timedelta(hours=2))
    assert [(link.earlier_no, link.kind) for link in links] == [("BB-20261102-000001", "duplicate")]
    assert any("垃圾桶" in word for word in links[0].why["words"])  # the texts were read for the reasons
    assert await _signature(engine, "BB-20261102-000001") is not None


PIPE = "胜利路口自来水管道爆裂，路面全是水，车辆无法通行，请尽快抢修"
PIPE_AGAIN = "胜利路口的自来水管道爆裂了，路面全是水，车辆无法通行，请尽快抢修！"


def _others(n: int, start: datetime) -> list[dict[str, str]]:
    """``n`` unrelated appeals through the portal, a minute apart."""
    return [
        appeal_hash(
            f"BB-20261102-{i + 100:06d}",
            content=f"{i}号楼{'夜间施工噪音扰民' if i % 2 else '楼道堆放杂物'}，已经{i % 9 + 2}天了",
            received_at=start + timedelta(minutes=i),
        )
        for i in range(n)
    ]


async def _pairs(engine: AsyncEngine) -> set[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(appeal_links.c.appeal_no, appeal_links.c.earlier_no, appeal_links.c.kind)
        )
        return {(r.appeal_no, r.earlier_no, r.kind) for r in rows}


async def test_a_duplicate_among_hundreds_of_the_hours_appeals_is_found(engine: AsyncEngine) -> None:
    """A burst main reported by phone, then 250 other appeals, then the same by WeChat two hours
    later: found through the shared bands (it used to be looked for among the newest 200 only)."""
    phone = appeal_hash("BB-20261102-000001", content=PIPE, received_at=T0, channel="phone-12345")
    others = _others(250, T0 + timedelta(minutes=1))
    wechat = appeal_hash(
        "BB-20261102-000002", content=PIPE_AGAIN, received_at=T0 + timedelta(hours=5), channel="wechat-bengbu"
    )
    await seed(engine, [phone, *others])
    async with engine.begin() as conn:  # as the recorder records them: the first batch, then the next
        await link_new(
            conn, ["BB-20261102-000001", *(f"BB-20261102-{i + 100:06d}" for i in range(250))], *_AT
        )
    await seed(engine, [wechat])
    async with engine.begin() as conn:
        await link_new(conn, ["BB-20261102-000002"], LinkPolicy(), T0 + timedelta(hours=6))
    assert ("BB-20261102-000002", "BB-20261102-000001", "duplicate") in await _pairs(engine)


async def test_the_bands_are_kept_for_the_duplicate_hours_only(engine: AsyncEngine) -> None:
    early = _others(3, T0)
    late = appeal_hash("BB-20261102-000001", content=PIPE, received_at=T0 + timedelta(hours=7))
    await seed(engine, [*early, late])
    async with engine.begin() as conn:
        await link_new(conn, [f"BB-20261102-{i + 100:06d}" for i in range(3)], *_AT)
    banded = await _banded(engine)  # similar texts of one channel: a band keeps the newest
    assert banded["BB-20261102-000102"] == BANDS and set(banded) <= {
        f"BB-20261102-{i + 100:06d}" for i in range(3)
    }
    async with engine.begin() as conn:  # seven hours later: the first three are past the six hours
        await link_new(conn, ["BB-20261102-000001"], LinkPolicy(), T0 + timedelta(hours=8))
    assert await _banded(engine) == {"BB-20261102-000001": BANDS}


async def test_a_text_sent_hundreds_of_times_keeps_one_row_a_band_and_channel(engine: AsyncEngine) -> None:
    """A template sent 300 times through one channel within the hours: its bands hold the newest
    only, so an appeal of another channel reads one row a band (it read all 300 under each of its
    21 bands, and the look-up grew with how often a text had been seen), and it is still linked as
    a duplicate, of the newest."""
    flood = [
        appeal_hash(
            f"BB-20261102-{i + 1:06d}",
            content=PIPE,
            received_at=T0 + timedelta(seconds=i),
            channel="phone-12345",
        )
        for i in range(300)
    ]
    await seed(engine, flood)
    async with engine.begin() as conn:
        await link_new(conn, [f"BB-20261102-{i + 1:06d}" for i in range(300)], *_AT)
    assert await _banded(engine) == {"BB-20261102-000300": BANDS}
    wechat = appeal_hash(
        "BB-20261102-000301",
        content=PIPE_AGAIN,
        received_at=T0 + timedelta(minutes=30),
        channel="wechat-bengbu",
    )
    await seed(engine, [wechat])
    async with engine.begin() as conn:
        await link_new(conn, ["BB-20261102-000301"], LinkPolicy(), T0 + timedelta(hours=1))
    duplicates = {(new, old) for new, old, kind in await _pairs(engine) if kind == "duplicate"}
    assert duplicates == {("BB-20261102-000301", "BB-20261102-000300")}
    assert (await _banded(engine))["BB-20261102-000301"] == BANDS  # its own channel's rows beside


async def _banded(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(appeal_bands.c.appeal_no, func.count()).group_by(appeal_bands.c.appeal_no)
        )
        return {r[0]: r[1] for r in rows}


async def test_appeals_recorded_before_the_bands_are_found_as_duplicates(database_url: str) -> None:
    """Migrations 0008 and 0009 band the appeals of the day before the newest recorded one."""
    engine = make_engine(database_url)

    def back_to_0007(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0007_link_signatures")

    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.run_sync(back_to_0007)
        old = appeal_hash("BB-20261101-000001", content=PIPE, received_at=T0 - timedelta(days=3))
        phone = appeal_hash("BB-20261102-000001", content=PIPE, received_at=T0, channel="phone-12345")
        async with engine.begin() as conn:
            rows = [appeal_row(h, lambda _a: None, T0) for h in (old, phone)]
            await conn.execute(appeals.insert(), rows)
        assert await upgrade(engine) == ("0007_link_signatures", head())
        assert await _banded(engine) == {"BB-20261102-000001": BANDS}  # the day before the newest
        wechat = appeal_hash(
            "BB-20261102-000002",
            content=PIPE_AGAIN,
            received_at=T0 + timedelta(hours=1),
            channel="wechat-bengbu",
        )
        await seed(engine, [wechat])
        async with engine.begin() as conn:
            await link_new(conn, ["BB-20261102-000002"], LinkPolicy(), T0 + timedelta(hours=2))
        assert ("BB-20261102-000002", "BB-20261102-000001", "duplicate") in await _pairs(engine)
    finally:
        await engine.dispose()


async def test_batches_of_every_size_make_few_statements(engine: AsyncEngine) -> None:
    """The database prepares and keeps each distinct statement (pysqlite 128 per connection, asyncpg
    100): an IN list of every length up to a batch's was a statement of its own, and the heap grew
    for the first hundred thousand appeals. Lists are padded to a power of two: at most seven
    lengths for batches of 1 to 33 appeals."""
    numbers = [f"BB-20261102-{i + 1:06d}" for i in range(33)]
    await seed(engine, [appeal_hash(no, content=LITTER + no, received_at=T0, area="a") for no in numbers])
    texts: set[str] = set()

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        texts.add(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        for size in range(1, 34):
            async with engine.begin() as conn:
                await link_new(conn, numbers[:size], *_AT)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)
    shapes: dict[str, int] = {}
    for statement in texts:
        shape = re.sub(r"(\?|\$\d+)(, (\?|\$\d+))*", "...", statement)  # the list's length left out
        shapes[shape] = shapes.get(shape, 0) + 1
    assert shapes and max(shapes.values()) <= 7, shapes
