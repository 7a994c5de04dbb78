"""Settings of one ``mailbox`` channel: an e-mail account read over IMAP and answered over SMTP."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class MailboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    imap_host: str = Field(description="IMAP server of the account.", examples=["${MAILBOX_IMAP_HOST}"])
    imap_port: int = Field(
        default=993, ge=1, le=65535, description="IMAP port: 993 with tls=ssl, 143 otherwise."
    )
    user: str = Field(description="Login name of the account (IMAP and SMTP).", examples=["${MAILBOX_USER}"])
    password: SecretStr = Field(
        description="Password of the account; give it by reference: ${MAILBOX_PASSWORD}.",
        examples=["${MAILBOX_PASSWORD}"],
    )
    smtp_host: str = Field(description="SMTP server acknowledgements and answers leave by.")
    smtp_port: int = Field(default=465, ge=1, le=65535, description="465 with tls=ssl, 587 with starttls.")
    tls: Literal["off", "starttls", "ssl"] = Field(
        default="ssl",
        description="Transport security of both IMAP and SMTP: off (loopback and tests only), starttls, ssl.",
    )
    address: str = Field(
        pattern=r"^[^@\s<>]+@[^@\s<>]+$",
        description="The mailbox's own address: the From of what we send; mail from it is never answered.",
        examples=["${MAILBOX_ADDRESS}"],
    )
    display_name: str = Field(default="蚌埠市长信箱", description="Display name in the From of what we send.")
    folder: str = Field(default="INBOX", description="IMAP folder citizens' mail arrives in.")
    idle: bool = Field(default=True, description="Use IMAP IDLE when the server offers it; else poll.")
    idle_seconds: float = Field(
        default=300.0, gt=0, le=1740, description="Renew IDLE this often (RFC 2177: under 29 minutes)."
    )
    poll_seconds: float = Field(default=30.0, gt=0, description="Polling interval without IDLE.")
    reconnect_initial_seconds: float = Field(default=1.0, gt=0, description="First wait after a drop.")
    reconnect_max_seconds: float = Field(default=300.0, gt=0, description="Longest wait between tries.")
    timeout_seconds: float = Field(default=20.0, gt=0, description="Timeout of one IMAP or SMTP command.")
    max_message_bytes: int = Field(
        default=20_000_000, ge=1024, description="Larger mails are not fetched (counted as too_large)."
    )
    max_attachment_bytes: int = Field(
        default=5_000_000, ge=0, description="Larger attachments are listed on the appeal but not kept."
    )
    max_attachments: int = Field(default=10, ge=0, description="Attachments kept per mail.")
    attachment_ttl_days: int = Field(
        default=90,
        ge=1,
        description="Days a kept attachment stays in Redis (the whole mail stays the raw payload).",
    )
    initial: Literal["unseen", "all", "new"] = Field(
        default="unseen",
        description="On the very first start: take unread mail, all mail, or only mail arriving from now.",
    )
    acknowledge: bool = Field(
        default=True, description="Send the citizen an acknowledgement with the number."
    )
