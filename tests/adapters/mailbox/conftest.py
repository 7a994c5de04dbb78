"""Fixtures of the mailbox tests: a real Dovecot, a real SMTP peer, and a gateway reading both."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioimaplib
import pytest
import redis.asyncio as aioredis
from aiosmtpd.smtp import SMTP

from adapters.mailbox import MailboxAdapter
from gateway.config import Config, load_config
from gateway.registry import Registry
from gateway.store import Keys
from tests.adapters.mailbox.servers import Dovecot, SmtpPeer, free_port, why_no_dovecot
from tests.conftest import CONFIG_DIR, Gateway, UnitReceiver, sample_env, start_gateway

CHANNEL = "mayor-mailbox"
ADDRESS = "mayor@bengbu.gov.cn"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    reason = why_no_dovecot()
    if reason:
        pytest.skip(reason)
    server = Dovecot.start()
    yield server
    server.stop()


@pytest.fixture
async def smtp_peer() -> AsyncIterator[SmtpPeer]:
    import asyncio

    peer = SmtpPeer(port=free_port())
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(peer, hostname="smtp.test"), peer.host, peer.port)
    yield peer
    server.close()
    await server.wait_closed()


def mailbox_env(dovecot: Dovecot, smtp: SmtpPeer, password: str | None = None) -> dict[str, str]:
    return {
        "MAILBOX_IMAP_HOST": dovecot.host,
        "MAILBOX_IMAP_PORT": str(dovecot.port),
        "MAILBOX_USER": dovecot.user,
        "MAILBOX_PASSWORD": password or dovecot.password,
        "MAILBOX_SMTP_HOST": smtp.host,
        "MAILBOX_SMTP_PORT": str(smtp.port),
        "MAILBOX_TLS": "off",
        "MAILBOX_ADDRESS": ADDRESS,
    }


def with_mailbox(config: Config, **overrides: Any) -> Config:
    """The configuration with the mailbox channel's settings changed."""
    channels = tuple(
        dataclasses.replace(c, settings=c.settings.model_copy(update=overrides))
        if c.id == CHANNEL and c.settings is not None
        else c
        for c in config.channels
    )
    return dataclasses.replace(config, channels=channels)


@pytest.fixture
def mail_config(registry: Registry, receiver: UnitReceiver, dovecot: Dovecot, smtp_peer: SmtpPeer) -> Config:
    env = sample_env(receiver.url) | mailbox_env(dovecot, smtp_peer)
    return with_mailbox(load_config(CONFIG_DIR, kinds=registry.kinds, env=env), reconnect_initial_seconds=0.2)


@dataclasses.dataclass
class MailWorld:
    """A gateway reading the Dovecot account and sending through the SMTP peer."""

    config: Config
    redis: aioredis.Redis
    keys: Keys
    registry: Registry
    receiver: UnitReceiver
    dovecot: Dovecot
    smtp: SmtpPeer
    gateway: Gateway | None = None

    async def start(self, config: Config | None = None) -> Gateway:
        self.gateway = await start_gateway(
            config or self.config, self.redis, self.keys, self.registry, self.receiver
        )
        return self.gateway

    async def stop(self) -> None:
        if self.gateway is not None:
            await self.gateway.client.close()
            self.gateway = None

    @property
    def adapter(self) -> MailboxAdapter:
        assert self.gateway is not None
        adapter = self.gateway.runtime.adapters[CHANNEL]
        assert isinstance(adapter, MailboxAdapter)
        return adapter

    async def deliver(self, raw: bytes) -> None:
        """Put a mail in the account's INBOX, as the MTA would."""
        client = aioimaplib.IMAP4(self.dovecot.host, self.dovecot.port, timeout=5)
        await client.wait_hello_from_server()
        assert (await client.login(self.dovecot.user, self.dovecot.password)).result == "OK"
        assert (await client.append(raw, mailbox="INBOX")).result == "OK"
        await client.logout()


@pytest.fixture
async def world(
    mail_config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    dovecot: Dovecot,
    smtp_peer: SmtpPeer,
) -> AsyncIterator[MailWorld]:
    w = MailWorld(mail_config, redis, keys, registry, receiver, dovecot, smtp_peer)
    yield w
    await w.stop()
