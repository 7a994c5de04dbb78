"""The mailbox kind against a real Dovecot (IMAP) and a real aiosmtpd peer (SMTP)."""

from __future__ import annotations

import hashlib
import time
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import redis.asyncio as aioredis
from pydantic import SecretStr

from adapters.mailbox import MailboxAdapter
from gateway.store import Keys
from normalizer import Appeal
from tests.adapters.mailbox.conftest import ADDRESS, MailWorld, with_mailbox
from tests.conformance.kit import stored_appeals
from tests.conftest import eventually

FIXTURES = Path(__file__).parents[3] / "adapters" / "mailbox" / "fixtures"
GBK_MAIL = (FIXTURES / "gbk-labelled-gb2312.eml").read_bytes()
GBK_TEXT = "朱镕基路与喆园小区交叉口的路灯坏了一个月，堃哥说报修多次没人管，晚上昇平巷很黑"
RESTART = 20.0  # seconds for a Dovecot stop or restart to be seen (a loaded machine is slow)


BOUNCE = b"""\
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.cn>
To: mayor@bengbu.gov.cn
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.example.cn>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail to nobody@example.cn could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.cn

Final-Recipient: rfc822; nobody@example.cn
Action: failed
Status: 5.1.1

--B--
""".replace(b"\n", b"\r\n")


def mail(n: int, sender: str = "resident@example.cn", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ADDRESS
    msg["Subject"] = f"第{n}封来信"
    msg["Message-ID"] = f"<letter-{n}@example.cn>"
    msg["Date"] = "Sun, 29 Nov 2026 09:00:00 +0800"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(f"小区第{n}号楼门口的下水道堵了，污水漫到路上。")
    return msg.as_bytes()


async def appeals(redis: aioredis.Redis, keys: Keys) -> list[Appeal]:
    found = []
    for key in await stored_appeals(redis, keys):
        found.append(Appeal.model_validate_json(await redis.hget(key, "appeal")))
    return sorted(found, key=lambda a: a.appeal_no)


async def wait_appeals(world: MailWorld, count: int, timeout: float = 10.0) -> list[Appeal]:
    async def enough() -> list[Appeal]:
        found = await appeals(world.redis, world.keys)
        return found if len(found) >= count else []

    return await eventually(enough, timeout)


async def test_gbk_mail_becomes_one_appeal_and_the_citizen_gets_the_number(world: MailWorld) -> None:
    await world.start()
    started = time.monotonic()
    await world.deliver(GBK_MAIL)
    (appeal,) = await wait_appeals(world, 1, timeout=30)
    (ack,) = await world.smtp.wait_for(1, timeout=30)
    elapsed = time.monotonic() - started
    assert elapsed < 30
    print(f"GBK mail -> appeal + acknowledgement in {elapsed:.2f} s")
    assert GBK_TEXT in appeal.content and "\ufffd" not in appeal.content
    assert appeal.subject == "喆园小区路灯坏了"
    assert appeal.channel_id == "mayor-mailbox" and appeal.channel_kind == "mailbox"
    assert appeal.citizen.name == "王喆"
    raw = await world.redis.get(appeal.raw.key) if appeal.raw else None
    assert raw == GBK_MAIL
    assert ack["To"] == "wangzhe@qq.com"
    assert appeal.appeal_no in ack["Subject"]
    assert appeal.appeal_no in ack.get_content()
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<tencent_1A2B3C@qq.com>"
    assert world.smtp.envelopes[0] == (ADDRESS, ["wangzhe@qq.com"])
    await eventually(lambda: _health_with(world, "sent", "1"))


async def test_kept_attachments_expire_and_the_whole_mail_stays_the_raw_payload(world: MailWorld) -> None:
    mail = (FIXTURES / "attachments.eml").read_bytes()
    await world.start()
    await world.deliver(mail)
    (appeal,) = await wait_appeals(world, 1, timeout=30)
    kept = [a.key for a in appeal.attachments if a.key]
    assert kept
    for key in kept:  # a copy for quick reads, bounded in time; the raw payload has every part
        assert 89 * 86400 < await world.redis.ttl(key) <= 90 * 86400
    assert appeal.raw is not None
    raw = message_from_bytes(await world.redis.get(appeal.raw.key))
    parts = {hashlib.sha256(p.get_payload(decode=True)).hexdigest() for p in raw.walk() if p.get_filename()}
    assert {key.rpartition(":")[2] for key in kept} <= parts


async def test_auto_reply_and_bounce_make_nothing(world: MailWorld) -> None:
    await world.start()
    await world.deliver(mail(1, Auto_Submitted="auto-replied"))
    await world.deliver(mail(2, X_Autoreply="yes"))
    await world.deliver(mail(3, Precedence="bulk"))
    await world.deliver(BOUNCE)
    await world.deliver(mail(4))  # a citizen's mail after them: when it is in, they were handled
    (appeal,) = await wait_appeals(world, 1)
    assert appeal.external_id == "msgid:letter-4@example.cn"
    await world.smtp.wait_for(1)
    health = await eventually(lambda: _health_with(world, "last_uid", "5"))
    assert health["bounces"] == "1" and health["automatic"] == "3"
    assert len(world.smtp.messages) == 1


async def _health_with(world: MailWorld, key: str, value: str) -> dict[str, str] | None:
    health = await world.adapter.health()
    return health if health.get(key) == value else None


async def test_a_restart_delivers_nothing_twice(world: MailWorld) -> None:
    await world.start()
    await world.deliver(mail(1))
    await world.deliver(mail(2))
    await wait_appeals(world, 2)
    await world.smtp.wait_for(2)
    await world.stop()

    # a crash after storing but before the cursor moved and the guard was written: both are lost
    cursor = world.keys.k("adapter", "mayor-mailbox", "cursor")
    await world.redis.hset(cursor, "last_uid", 0)
    async for key in world.redis.scan_iter(match=world.keys.k("adapter", "mayor-mailbox", "seen", "*")):
        await world.redis.delete(key)

    await world.start()
    await world.deliver(mail(3))
    found = await wait_appeals(world, 3)
    await world.smtp.wait_for(3)
    await eventually(lambda: _health_with(world, "last_uid", "3"))
    assert [a.external_id for a in found] == [f"msgid:letter-{n}@example.cn" for n in (1, 2, 3)]
    assert len(world.smtp.messages) == 3  # no second acknowledgement of 1 and 2


async def test_a_uidvalidity_change_resyncs_guarded_by_message_id(world: MailWorld) -> None:
    await world.start()
    await world.deliver(mail(1))
    await world.deliver(mail(2, Auto_Submitted="auto-generated"))
    await wait_appeals(world, 1)
    await eventually(lambda: _health_with(world, "last_uid", "2"))
    await world.stop()
    cursor = world.keys.k("adapter", "mayor-mailbox", "cursor")
    await world.redis.hset(cursor, "uidvalidity", 1)  # as if the server had renumbered the folder

    await world.start()
    await world.deliver(mail(3))
    found = await wait_appeals(world, 2)
    await world.smtp.wait_for(2)
    health = await eventually(lambda: _health_with(world, "last_uid", "3"))
    assert health["resyncs"] == "1" and health["automatic"] == "1"
    assert [a.external_id for a in found] == ["msgid:letter-1@example.cn", "msgid:letter-3@example.cn"]
    assert len(world.smtp.messages) == 2


async def test_a_reply_to_the_acknowledgement_is_added_to_its_appeal(world: MailWorld) -> None:
    await world.start()
    await world.deliver(GBK_MAIL)
    (appeal,) = await wait_appeals(world, 1)
    (ack,) = await world.smtp.wait_for(1)

    reply = EmailMessage()
    reply["From"] = "王喆 <wangzhe@qq.com>"
    reply["To"] = ADDRESS
    reply["Subject"] = "回复：" + ack["Subject"]
    reply["Message-ID"] = "<tencent_REPLY@qq.com>"
    reply["In-Reply-To"] = ack["Message-ID"]
    reply["References"] = f"<tencent_1A2B3C@qq.com> {ack['Message-ID']}"
    reply.set_content(
        "路灯还是不亮，附近又有人摔倒了。\n\n------------------ 原始邮件 ------------------\n"
        "发件人: 蚌埠市长信箱\n您的来信已收到并受理\n",
        charset="gb18030",
    )
    await world.deliver(reply.as_bytes())
    # the same words from someone else open an appeal of their own
    await world.deliver(mail(9, In_Reply_To=ack["Message-ID"]))

    async def added() -> list[dict[str, object]]:
        assert world.gateway is not None
        history = await world.gateway.runtime.appeals.history(appeal.appeal_no)
        return [e for e in history if e["type"] == "citizen_added"]

    (event,) = await eventually(added)
    assert event["content"] == "路灯还是不亮，附近又有人摔倒了。"
    found = await wait_appeals(world, 2)
    assert [a.external_id for a in found][1] == "msgid:letter-9@example.cn"
    messages = await world.smtp.wait_for(3)
    confirmation = next(m for m in messages if m["To"] == "wangzhe@qq.com" and m is not ack)
    assert appeal.appeal_no in confirmation["Subject"]


async def test_answer_forwards_the_units_reply_to_the_citizen(world: MailWorld) -> None:
    await world.start()
    html = (FIXTURES / "html-only.eml").read_bytes()
    await world.deliver(html)
    (appeal,) = await wait_appeals(world, 1)
    await world.smtp.wait_for(1)
    result = await world.adapter.answer(appeal, "已安排环卫所每日清运两次，感谢监督。")
    assert result.delivered and result.via == "email"
    answer = (await world.smtp.wait_for(2))[1]
    assert answer["To"] == "reply-here@example.cn"  # the citizen's Reply-To
    assert "Auto-Submitted" not in answer
    assert answer["In-Reply-To"] == "<html-only-1@example.cn>"
    assert appeal.appeal_no in answer["Subject"]
    assert "已安排环卫所每日清运两次" in answer.get_content()


async def test_check_reports_a_bad_login_as_a_result(world: MailWorld) -> None:
    gateway = await world.start()
    good = world.adapter
    assert (await good.check()).ok
    bad = MailboxAdapter(
        "mayor-mailbox",
        good.settings.model_copy(update={"password": SecretStr("wrong")}),
        good.context,
    )
    result = await bad.check()
    assert not result.ok and "refused the login" in result.detail
    assert "wrong" not in result.detail
    assert gateway is not None


async def test_a_refused_login_parks_the_channel(world: MailWorld) -> None:

    await world.start(with_mailbox(world.config, password=SecretStr("wrong")))
    health = await eventually(lambda: _health_with(world, "state", "auth_failed"))
    assert "refused the login" in health["error"]
    await world.adapter.aclose()
    await world.adapter.aclose()  # idempotent


async def test_reconnects_with_backoff_after_a_dropped_connection(world: MailWorld) -> None:
    await world.start()
    await eventually(lambda: _health_with(world, "state", "connected"), RESTART)
    world.dovecot.stop_process()
    await eventually(lambda: _health_with(world, "state", "reconnecting"), RESTART)
    world.dovecot.restart()
    await world.deliver(mail(1))
    await wait_appeals(world, 1)
    health = await eventually(lambda: _health_with(world, "state", "connected"), RESTART)
    assert int(health["reconnects"]) >= 1


async def test_polls_when_idle_is_off(world: MailWorld) -> None:
    await world.start(with_mailbox(world.config, idle=False, poll_seconds=0.1))
    await world.deliver(mail(1))
    await world.deliver(mail(2))
    assert len(await wait_appeals(world, 2)) == 2
    await world.adapter.start()  # idempotent: still one poller
    await world.deliver(mail(3))
    assert len(await wait_appeals(world, 3)) == 3
