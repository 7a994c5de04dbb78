"""What the mailbox sends, pure: the acknowledgement with the appeal number and the answer.

Our Message-IDs carry the appeal number (``<ack.BB-20261129-000001.<hex>@domain>``), so a citizen's
reply to either is recognised by its In-Reply-To / References and added to that appeal.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from adapters.mailbox.decode import Mail

ACK_TEXT = """\
您好：

您发给{mailbox}的来信已收到并受理，诉求编号：{appeal_no}。

我们将按规定转交承办单位办理，办理结果将通过本邮箱答复您。
如需补充情况或材料，请直接回复本邮件。查询办理进度请提供诉求编号。

本邮件由系统自动发送。
{mailbox}（12345政务服务便民热线）
"""

ADDED_TEXT = """\
您好：

您补充的内容已收到，已加入诉求 {appeal_no}，将一并转交承办单位。

本邮件由系统自动发送。
{mailbox}（12345政务服务便民热线）
"""

ANSWER_TEXT = """\
您好：

关于您的诉求（编号 {appeal_no}），答复如下：

{text}

如对答复有疑问，请直接回复本邮件。
{mailbox}（12345政务服务便民热线）
"""


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def message_id(purpose: str, appeal_no: str, address: str) -> str:
    return f"<{purpose}.{appeal_no}.{secrets.token_hex(6)}@{domain_of(address)}>"


def _base(sender: str, display_name: str, to: str, subject: str, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    local, _, domain = sender.partition("@")
    msg["From"] = Address(display_name, local, domain)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    return msg


def acknowledgement(
    mail: Mail, appeal_no: str, *, sender: str, display_name: str, now: datetime, added: bool = False
) -> EmailMessage:
    """The automatic answer to a citizen's mail (RFC 3834: Auto-Submitted: auto-replied)."""
    tag = "补充已收到" if added else "已受理"
    original = mail.subject or "您的来信"
    msg = _base(sender, display_name, mail.reply_to, f"[{appeal_no}] {tag}：{original}"[:300], now)
    msg["Message-ID"] = message_id("ack", appeal_no, sender)
    if mail.message_id:
        msg["In-Reply-To"] = mail.message_id
        msg["References"] = " ".join([*mail.references[-8:], mail.message_id])
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    template = ADDED_TEXT if added else ACK_TEXT
    msg.set_content(template.format(mailbox=display_name, appeal_no=appeal_no))
    return msg


def answer(
    appeal_no: str,
    text: str,
    *,
    to: str,
    in_reply_to: str | None,
    sender: str,
    display_name: str,
    now: datetime,
) -> EmailMessage:
    """A unit's answer forwarded to the citizen (written by a person: not Auto-Submitted)."""
    msg = _base(sender, display_name, to, f"[{appeal_no}] 关于您来信的答复", now)
    msg["Message-ID"] = message_id("answer", appeal_no, sender)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(ANSWER_TEXT.format(mailbox=display_name, appeal_no=appeal_no, text=text.strip()))
    return msg
