"""All outside I/O of the mailbox kind: IMAP (aioimaplib) in, SMTP (aiosmtplib) out.

Library errors leave as ours: a refused login is :class:`AdapterAuthError`; a dropped or refused
connection, a timeout or a server error is :class:`TransientError` (reconnect with backoff); a
recipient the SMTP server refuses for good is :class:`BadMessage`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TypeVar

import aioimaplib
import aiosmtplib

from adapters.mailbox.config import MailboxConfig
from gateway.errors import AdapterAuthError, BadMessage, TransientError

_IMAP_ERRORS = (aioimaplib.AioImapException, OSError, asyncio.TimeoutError, ConnectionError)
T = TypeVar("T")


@dataclass(frozen=True)
class Folder:
    uidvalidity: int
    uidnext: int | None
    exists: int


def _lines(response: aioimaplib.Response) -> list[bytes]:
    return [bytes(line) for line in response.lines]


class ImapSession:
    """One logged-in IMAP connection with the channel's folder selected."""

    def __init__(self, settings: MailboxConfig) -> None:
        self.settings = settings
        self.client: aioimaplib.IMAP4 | None = None
        self.lost = asyncio.Event()

    def _connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()

    async def _io(self, what: str, exchange: Awaitable[T], seconds: float | None = None) -> T:
        """One IMAP exchange: its result, or TransientError as soon as the connection drops or
        after ``seconds`` (``timeout_seconds``). aioimaplib ends no command when the connection is
        lost, and waits for IDLE's start without a timeout: a server that dies mid-command would
        leave the poller waiting for ever, reporting nothing."""
        limit = self.settings.timeout_seconds if seconds is None else seconds
        work = asyncio.ensure_future(exchange)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _ = await asyncio.wait({work, lost}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not work.done():
                work.cancel()
        if work in done:
            try:
                return work.result()
            except _IMAP_ERRORS as e:
                raise TransientError(f"IMAP {what}: {e!r}", retry_after=5.0) from e
        if lost in done:
            raise TransientError(f"IMAP {what}: the connection was dropped", retry_after=5.0)
        raise TransientError(f"IMAP {what}: no answer within {limit:g} s", retry_after=5.0)

    async def _command(self, what: str, response: aioimaplib.Response) -> aioimaplib.Response:
        if response.result != "OK":
            detail = b" ".join(_lines(response)).decode("utf-8", "replace")[:200]
            raise TransientError(f"IMAP {what} failed: {response.result} {detail}", retry_after=5.0)
        return response

    async def open(self) -> Folder:
        s = self.settings
        server = f"{s.imap_host}:{s.imap_port}"  # errors of the connection name the server
        try:
            self.client = aioimaplib.IMAP4(
                s.imap_host,
                s.imap_port,
                timeout=s.timeout_seconds,
                conn_lost_cb=self._connection_lost,
                ssl_context=ssl.create_default_context() if s.tls == "ssl" else None,
            )
            await self._io(server, self.client.wait_hello_from_server())
            if s.tls == "starttls":
                await self._starttls()
            login = await self._io(server, self.client.login(s.user, s.password.get_secret_value()))
            if login.result != "OK":
                detail = b" ".join(_lines(login)).decode("utf-8", "replace")[:200]
                raise AdapterAuthError(f"the IMAP server refused the login of {s.user}: {detail}")
            selected = await self._command("SELECT", await self._io(server, self.client.select(s.folder)))
        except _IMAP_ERRORS as e:
            await self.close()
            raise TransientError(f"IMAP {s.imap_host}:{s.imap_port}: {e!r}", retry_after=5.0) from e
        except BaseException:
            await self.close()
            raise
        text = b"\n".join(_lines(selected))
        validity = re.search(rb"UIDVALIDITY (\d+)", text)
        uidnext = re.search(rb"UIDNEXT (\d+)", text)
        exists = re.search(rb"(\d+) EXISTS", text)
        if validity is None:
            await self.close()
            raise TransientError("the IMAP server sent no UIDVALIDITY", retry_after=30.0)
        return Folder(
            int(validity.group(1)),
            int(uidnext.group(1)) if uidnext else None,
            int(exists.group(1)) if exists else 0,
        )

    async def _starttls(self) -> None:
        """aioimaplib has no STARTTLS call: send it, then upgrade the transport in place."""
        assert self.client is not None
        protocol = self.client.protocol
        response = await self._io("STARTTLS", protocol.simple_command("STARTTLS"))
        await self._command("STARTTLS", response)
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(
            protocol.transport,
            protocol,
            ssl.create_default_context(),
            server_hostname=self.settings.imap_host,
        )
        protocol.transport = transport
        await self._io("CAPABILITY", protocol.capability())

    @property
    def can_idle(self) -> bool:
        return self.client is not None and self.client.has_capability("IDLE")

    async def search(self, criteria: str) -> list[int]:
        assert self.client is not None
        found = await self._io("SEARCH", self.client.uid_search(criteria, charset=None))
        response = await self._command("SEARCH", found)
        uids: list[int] = []
        for line in _lines(response)[:-1]:
            uids.extend(int(t) for t in line.split() if t.isdigit())
        return sorted(set(uids))

    async def size(self, uid: int) -> int | None:
        """RFC822.SIZE of a message; None when it is gone."""
        assert self.client is not None
        fetched = await self._io("FETCH", self.client.uid("fetch", str(uid), "(RFC822.SIZE)"))
        response = await self._command("FETCH", fetched)
        for line in _lines(response):
            if re.search(rb"\bUID %d\b" % uid, line) or b"FETCH" in line:
                found = re.search(rb"RFC822\.SIZE (\d+)", line)
                if found:
                    return int(found.group(1))
        return None

    async def fetch(self, uid: int) -> bytes | None:
        """The whole message, without setting \\Seen; None when it is gone."""
        assert self.client is not None
        fetched = await self._io("FETCH", self.client.uid("fetch", str(uid), "(BODY.PEEK[])"))
        response = await self._command("FETCH", fetched)
        for line in response.lines:
            if isinstance(line, bytearray):
                return bytes(line)
        return None

    async def mark_seen(self, uid: int) -> None:
        assert self.client is not None
        await self._io("STORE", self.client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)"))

    async def wait_for_mail(self, seconds: float) -> None:
        """Wait in IDLE until the server announces new mail (EXISTS) or ``seconds`` pass."""
        assert self.client is not None
        client = self.client
        idle = await self._io("IDLE", client.idle_start(timeout=seconds))
        try:
            while True:
                push = client.wait_server_push(timeout=seconds + 5)
                lines = await self._io("IDLE", push, seconds + 10)
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    return
                if any(re.search(rb"\d+ (EXISTS|RECENT)", bytes(line)) for line in lines):
                    return
                # Dovecot also pushes "OK Still here": keep waiting
        finally:
            if self.lost.is_set():
                idle.cancel()
            elif client.has_pending_idle():
                client.idle_done()
                with contextlib.suppress(TransientError):  # an error in flight is the one to tell
                    await self._io("DONE", idle)

    async def noop(self) -> None:
        assert self.client is not None
        await self._command("NOOP", await self._io("NOOP", self.client.noop()))

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if client.get_state() in ("AUTH", "SELECTED") and not self.lost.is_set():
                await asyncio.wait_for(client.logout(), 2.0)
        except (*_IMAP_ERRORS, AssertionError):
            pass
        transport = client.protocol.transport
        if transport is not None:
            transport.close()
        for task in list(client.tasks) + list(client.protocol.tasks) + [client._client_task]:
            if not task.done():
                task.cancel()


class SmtpSender:
    """Sends one message per connection (acknowledgements and answers are few)."""

    def __init__(self, settings: MailboxConfig) -> None:
        self.settings = settings

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.tls == "ssl",
            start_tls=s.tls == "starttls",
            timeout=s.timeout_seconds,
        )

    async def _login(self, smtp: aiosmtplib.SMTP) -> None:
        if smtp.supports_extension("auth"):
            await smtp.login(self.settings.user, self.settings.password.get_secret_value())

    async def send(self, message: EmailMessage) -> None:
        smtp = self._client()
        try:
            async with smtp:
                await self._login(smtp)
                await smtp.send_message(message)
        except aiosmtplib.SMTPAuthenticationError as e:
            raise AdapterAuthError(f"the SMTP server refused the login of {self.settings.user}") from e
        except aiosmtplib.SMTPRecipientsRefused as e:
            if all(r.code >= 500 for r in e.recipients):
                raise BadMessage("the SMTP server refused the recipient") from e
            raise TransientError(f"SMTP: {e}", retry_after=60.0) from e
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as e:
            raise TransientError(f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port}: {e!r}") from e

    async def check(self) -> None:
        smtp = self._client()
        try:
            async with smtp:
                await self._login(smtp)
                await smtp.noop()
        except aiosmtplib.SMTPAuthenticationError as e:
            raise AdapterAuthError(f"the SMTP server refused the login of {self.settings.user}") from e
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as e:
            raise TransientError(f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port}: {e!r}") from e
