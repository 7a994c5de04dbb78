"""The mailbox kind in the conformance kit.

The kit's checks send HTTP requests; the mailbox has no HTTP surface (it reads an IMAP account).
Each check is skipped with its reason and proved here the mailbox's way, against real servers."""

from __future__ import annotations

import hashlib

import pytest
import redis.asyncio as aioredis

from adapters.base import AdapterContext
from adapters.mailbox import MailboxAdapter
from gateway.errors import StorageUnavailable
from gateway.loop import Intake
from normalizer import Appeal
from tests.adapters.mailbox.conftest import CHANNEL, MailWorld
from tests.adapters.mailbox.test_mailbox import mail, wait_appeals
from tests.conformance.kit import AdapterConformance, stored_appeals
from tests.conftest import eventually

NO_HTTP = "the mailbox kind has no HTTP route: mail arrives over IMAP; "


class TestMailboxConformance(AdapterConformance):
    kind = "mailbox"
    channel_id = CHANNEL
    skips = {  # noqa: RUF012 (the kit's ClassVar)
        "forged": NO_HTTP + "its credential is our IMAP login, proved by test_a_bad_login_is_a_result",
        "malformed": NO_HTTP + "see test_malformed_mail_makes_nothing_and_the_poller_runs_on",
        "retry": NO_HTTP + "see test_the_same_mail_twice_is_one_appeal_and_one_acknowledgement",
        "durable": NO_HTTP + "see test_nothing_is_acknowledged_while_the_store_is_down",
        "valid": NO_HTTP + "see test_stored_mail_is_a_valid_appeal_with_its_raw_payload",
        "hostile": NO_HTTP + "hostile mail is decoded by the pure decoder, see test_decode.py",
        "fuzz": NO_HTTP + "the mail itself is fuzzed: bench/fuzz_mail.py, see test_fuzz.py",
    }

    async def test_a_bad_login_is_a_result(self, world: MailWorld) -> None:
        await world.start()
        adapter = world.adapter
        from pydantic import SecretStr

        bad = MailboxAdapter(
            CHANNEL, adapter.settings.model_copy(update={"password": SecretStr("x")}), adapter.context
        )
        result = await bad.check()
        assert not result.ok and result.detail

    async def test_malformed_mail_makes_nothing_and_the_poller_runs_on(self, world: MailWorld) -> None:
        await world.start()
        await world.deliver(b"From: resident@example.cn\r\nMessage-ID: <empty@x>\r\n\r\n")  # no text
        await world.deliver(b"\xff\xfe\x00garbage without headers\r\n")
        await world.deliver(mail(1))
        (appeal,) = await wait_appeals(world, 1)
        assert appeal.external_id == "msgid:letter-1@example.cn"
        assert len(await world.smtp.wait_for(1)) == 1

    async def test_the_same_mail_twice_is_one_appeal_and_one_acknowledgement(self, world: MailWorld) -> None:
        await world.start()
        await world.deliver(mail(1))
        await world.deliver(mail(1))
        await world.deliver(mail(2))
        found = await wait_appeals(world, 2)
        assert [a.external_id for a in found] == ["msgid:letter-1@example.cn", "msgid:letter-2@example.cn"]

        async def done() -> bool:
            health = await world.adapter.health()
            return health.get("last_uid") == "3"

        await eventually(done)
        assert len(world.smtp.messages) == 2

    async def test_nothing_is_acknowledged_while_the_store_is_down(self, world: MailWorld) -> None:
        await world.start()
        live = world.adapter.context
        dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        try:
            appeals = Intake(
                dead,
                world.keys,
                prefix="BB",
                network=lambda: world.config.network,
                channel_kinds={CHANNEL: "mailbox"},
                clock=live.clock,
            )
            context = AdapterContext(appeals, live.clock, live.log, live.max_body_bytes, dead, world.keys)
            adapter = MailboxAdapter(CHANNEL, world.adapter.settings, context)
            with pytest.raises(StorageUnavailable):
                await adapter.handle(mail(1))
        finally:
            await dead.aclose()
        assert await stored_appeals(world.redis, world.keys) == []
        assert world.smtp.messages == []

    async def test_stored_mail_is_a_valid_appeal_with_its_raw_payload(self, world: MailWorld) -> None:
        await world.start()
        raw = mail(1)
        await world.deliver(raw)
        await wait_appeals(world, 1)
        (key,) = await stored_appeals(world.redis, world.keys)
        appeal = Appeal.model_validate_json(await world.redis.hget(key, "appeal"))
        assert appeal.channel_id == CHANNEL and appeal.channel_kind == "mailbox"
        assert appeal.received_at.utcoffset() is not None
        assert appeal.raw is not None and appeal.raw.content_type == "message/rfc822"
        stored = await world.redis.get(appeal.raw.key)
        assert stored is not None and hashlib.sha256(stored).hexdigest() == appeal.raw.sha256
