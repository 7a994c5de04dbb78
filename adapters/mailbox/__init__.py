"""The ``mailbox`` kind: the mayor's mailbox, an e-mail account read over IMAP and answered by SMTP.

A poller (``start()`` runs it as an asyncio task, ``aclose()`` stops it) waits in IMAP IDLE, or
polls where the server has no IDLE, and takes each new mail by UID:

1. the Message-ID guard: a mail already handled (after a UIDVALIDITY change the whole folder is
   read again) is skipped;
2. the loop guard: automatic, bulk and list mail and our own make nothing; a bounce is counted;
3. a reply to our acknowledgement or answer is added to that appeal (``intake.add_to``);
4. else it becomes an appeal (``intake.submit``, deduplicated by Message-ID) and the citizen gets
   an acknowledgement with the appeal number;
5. only then the cursor (UIDVALIDITY, last UID, kept under ``state_key("cursor")``) moves on.

A crash at any step repeats at most that mail, and the dedup makes the repeat harmless.
Channel health (state, last error, reconnects, counters) is kept under ``state_key("health")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from email.message import EmailMessage
from email.utils import parseaddr

from redis.exceptions import RedisError

from adapters.base import (
    Adapter,
    AdapterContext,
    AnswerResult,
    Capabilities,
    CheckResult,
    InboundMessage,
    stop_task,
)
from adapters.mailbox import compose
from adapters.mailbox.client import Folder, ImapSession, SmtpSender
from adapters.mailbox.config import MailboxConfig
from adapters.mailbox.decode import Mail, decode_mail, is_bounce, loop_reason, mail_key, parse
from gateway.errors import (
    AdapterAuthError,
    BadMessage,
    BadRequest,
    HotlineError,
    StorageUnavailable,
    TransientError,
)
from gateway.store import decode_hash
from normalizer import Appeal, IdentityKind

__all__ = ["MailboxAdapter", "MailboxConfig"]

SEEN_TTL = 400 * 86400  # the Message-ID guard outlives any UIDVALIDITY change we would resync after
CONTENT_TYPE = "message/rfc822"


class MailboxAdapter(Adapter[MailboxConfig]):
    kind = "mailbox"
    Config = MailboxConfig
    capabilities = Capabilities(poller=True, can_answer=True)

    def __init__(self, channel_id: str, settings: MailboxConfig, context: AdapterContext) -> None:
        super().__init__(channel_id, settings, context)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.smtp = SmtpSender(settings)
        self.domain = compose.domain_of(settings.address)

    # --- life ----------------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        session = ImapSession(self.settings)
        try:
            folder = await session.open()
            await self.smtp.check()
        except AdapterAuthError as e:
            return CheckResult(ok=False, detail=e.message)
        except TransientError as e:
            return CheckResult(ok=False, detail=e.message)
        finally:
            await session.close()
        return CheckResult(ok=True, detail=f"IMAP {self.settings.folder}: {folder.exists} messages; SMTP ok")

    async def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"mailbox:{self.channel_id}")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        self._stopping = True
        if task is None:
            return
        if not await stop_task(task, 5.0):
            self.log.warning("mailbox.poller_not_stopped")

    async def health(self) -> dict[str, str]:
        data = await self.context.redis.hgetall(self.state_key("health"))
        return decode_hash(data)

    async def _health(self, **fields: str | float) -> None:
        with contextlib.suppress(Exception):
            await self.context.redis.hset(
                self.state_key("health"),
                mapping={"at": self.context.clock().isoformat(), **{k: str(v) for k, v in fields.items()}},
            )

    async def _count(self, counter: str) -> None:
        with contextlib.suppress(Exception):
            await self.context.redis.hincrby(self.state_key("health"), counter, 1)

    async def _run(self) -> None:
        s = self.settings
        backoff = s.reconnect_initial_seconds
        while not self._stopping:
            session = ImapSession(s)
            try:
                folder = await session.open()
                await self._health(state="connected", error="")
                backoff = s.reconnect_initial_seconds
                await self._sync(session, folder)
                while not self._stopping:
                    await self._wait(session)
                    await self._sync(session, folder)
            except AdapterAuthError as e:
                # parked until reconfigured: trying a refused password again only locks the account
                await self._health(state="auth_failed", error=e.message)
                self.log.error("mailbox.login_refused", error=e.message)
                return
            except (TransientError, RedisError) as e:
                error = e.message if isinstance(e, HotlineError) else f"redis: {e!r}"
                await self._count("reconnects")
                await self._health(state="reconnecting", error=error, retry_in=round(backoff, 1))
                self.log.warning("mailbox.disconnected", error=error, retry_in=round(backoff, 1))
            except Exception as e:  # never let the poller die silently
                await self._count("reconnects")
                await self._health(state="reconnecting", error=repr(e)[:300], retry_in=round(backoff, 1))
                self.log.exception("mailbox.poller_failed", retry_in=round(backoff, 1))
            finally:
                await session.close()
            await asyncio.sleep(backoff * (1 + random.random() * 0.2))
            backoff = min(backoff * 2, s.reconnect_max_seconds)

    async def _wait(self, session: ImapSession) -> None:
        s = self.settings
        if s.idle and session.can_idle:
            await session.wait_for_mail(s.idle_seconds)
        else:
            await asyncio.sleep(s.poll_seconds)
            await session.noop()

    # --- reading -------------------------------------------------------------------------------

    async def _sync(self, session: ImapSession, folder: Folder) -> None:
        redis = self.context.redis
        cursor_key = self.state_key("cursor")
        cursor = {k: int(v) for k, v in decode_hash(await redis.hgetall(cursor_key)).items()}
        if cursor.get("uidvalidity") != folder.uidvalidity:
            last = 0
            if "uidvalidity" in cursor:  # the server renumbered: read all, the guard skips what we had
                self.log.warning(
                    "mailbox.uidvalidity_changed", old=cursor["uidvalidity"], new=folder.uidvalidity
                )
                await self._count("resyncs")
                uids = await session.search("ALL")
            elif self.settings.initial == "new":
                last, uids = max((folder.uidnext or 1) - 1, 0), []
            else:
                uids = await session.search("UNSEEN" if self.settings.initial == "unseen" else "ALL")
            await redis.hset(cursor_key, mapping={"uidvalidity": folder.uidvalidity, "last_uid": last})
        else:
            last = cursor.get("last_uid", 0)
            uids = [u for u in await session.search(f"UID {last + 1}:*") if u > last]
        # Until a search finds nothing new: mail that arrives meanwhile is announced (EXISTS) in
        # the answer to some command of ours, and IDLE would not announce it again.
        while uids:
            for uid in uids:
                await self._take(session, uid)
                last = max(uid, last)
                await redis.hset(cursor_key, "last_uid", last)
            uids = [u for u in await session.search(f"UID {last + 1}:*") if u > last]
        await self._health(state="connected", last_uid=last, error="")

    async def _take(self, session: ImapSession, uid: int) -> None:
        size = await session.size(uid)
        if size is None:
            return
        if size > self.settings.max_message_bytes:
            await self._count("too_large")
            self.log.warning("mailbox.too_large", uid=uid, size=size)
            return
        raw = await session.fetch(uid)
        if raw is None:
            return
        try:
            await self.handle(raw)
        except (BadMessage, BadRequest) as e:
            await self._count("bad")
            self.log.warning("mailbox.bad_message", uid=uid, error=e.message)
        with contextlib.suppress(TransientError):
            await session.mark_seen(uid)

    async def handle(self, raw: bytes) -> str | None:
        """One mail -> an appeal (or an addition to one, or nothing). Returns the appeal number.
        Raises StorageUnavailable (the mail is tried again) or BadMessage."""
        try:
            return await self._handle(raw)
        except RedisError as e:
            raise StorageUnavailable("the store is unavailable; the mail is read again later") from e

    async def _handle(self, raw: bytes) -> str | None:
        redis = self.context.redis
        msg = parse(raw)
        seen_key = self.state_key("seen", mail_key(msg))
        if await redis.exists(seen_key):
            return None
        if is_bounce(msg):
            await self._count("bounces")
            self.log.info("mailbox.bounce")
            await redis.set(seen_key, "bounce", ex=SEEN_TTL)
            return None
        reason = loop_reason(msg, self.settings.address)
        if reason is not None:
            await self._count("automatic")
            self.log.info("mailbox.automatic", reason=reason)
            await redis.set(seen_key, "automatic", ex=SEEN_TTL)
            return None
        try:
            mail = decode_mail(
                raw,
                max_attachment_bytes=self.settings.max_attachment_bytes,
                max_attachments=self.settings.max_attachments,
                attachment_key=lambda sha: self.state_key("attachment", sha),
                msg=msg,
            )
        except ValueError as e:
            raise BadMessage(str(e)) from e
        for file in mail.files:
            if file.data is not None:
                ttl = self.settings.attachment_ttl_days * 86400
                await redis.set(self.state_key("attachment", file.sha256), file.data, nx=True, ex=ttl)
        message = InboundMessage(self.channel_id, raw, CONTENT_TYPE, mail.draft)
        target = await self._replied_appeal(mail)
        if target is not None:
            receipt = await self.context.intake.add_to(target, message)
            added = True
        else:
            receipt = await self.context.intake.submit(message)
            added = False
        self.log.info(
            "appeal.added" if added else "appeal.received",
            appeal_no=receipt.appeal_no,
            duplicate=receipt.duplicate,
        )
        if not receipt.duplicate and self.settings.acknowledge:
            ack = compose.acknowledgement(
                mail,
                receipt.appeal_no,
                sender=self.settings.address,
                display_name=self.settings.display_name,
                now=self.context.clock(),
                added=added,
            )
            await self._send(ack, receipt.appeal_no)
        await redis.set(seen_key, receipt.appeal_no, ex=SEEN_TTL)
        return receipt.appeal_no

    async def _replied_appeal(self, mail: Mail) -> str | None:
        """The appeal a reply belongs to: only this channel's, and only from its citizen."""
        appeal_no = mail.our_appeal(self.domain)
        if appeal_no is None:
            return None
        status = await self.context.intake.status(appeal_no)
        if status is None or status.appeal.channel_id != self.channel_id:
            return None
        citizen = _email_of(status.appeal)
        return appeal_no if citizen and citizen == mail.sender else None

    async def _send(self, message: EmailMessage, appeal_no: str) -> bool:
        try:
            await self.smtp.send(message)
        except (TransientError, BadMessage, AdapterAuthError) as e:
            await self._count("send_failed")
            self.log.warning("mailbox.send_failed", appeal_no=appeal_no, error=e.message)
            return False
        await self._count("sent")
        return True

    # --- answering -----------------------------------------------------------------------------

    async def answer(self, appeal: Appeal, text: str) -> AnswerResult:
        route = appeal.reply_route
        to = route.address if route.address and "@" in route.address else _email_of(appeal)
        if not to:
            return AnswerResult(delivered=False, via="email", detail="the appeal has no e-mail address")
        original = appeal.external_id.removeprefix("msgid:")
        message = compose.answer(
            appeal.appeal_no,
            text,
            to=to,
            in_reply_to=f"<{original}>" if appeal.external_id.startswith("msgid:") else None,
            sender=self.settings.address,
            display_name=self.settings.display_name,
            now=self.context.clock(),
        )
        try:
            await self.smtp.send(message)
        except HotlineError as e:
            self.log.warning("mailbox.answer_failed", appeal_no=appeal.appeal_no, error=e.message)
            return AnswerResult(delivered=False, via="email", detail=e.message)
        self.log.info("mailbox.answered", appeal_no=appeal.appeal_no)
        return AnswerResult(delivered=True, via="email")


def _email_of(appeal: Appeal) -> str | None:
    identity = appeal.citizen.identity
    if identity is not None and identity.kind == IdentityKind.email:
        return parseaddr(identity.value)[1].lower() or None
    return None
