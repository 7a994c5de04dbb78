"""A citizen's e-mail -> an appeal draft, pure functions (tested against ``fixtures/*.eml``).

Written for the mail Chinese clients really send: text labelled gb2312 or gbk holding GBK-only
characters (decoded as gb18030, the superset), raw 8-bit GBK or UTF-8 headers, RFC 2047 subjects and
names, HTML-only mail, whole quoted threads. The loop guard (RFC 3834 and the usual
auto-responder headers) and bounce detection (RFC 3464 delivery-status reports) live here too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import quopri
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import unquote_to_bytes

from normalizer import (
    AppealDraft,
    Attachment,
    AttachmentKind,
    ChannelIdentity,
    Citizen,
    IdentityKind,
    ReplyRoute,
    ReplyRouteKind,
)

MAX_CONTENT = 20000
_GB = {"gb2312", "gbk", "gb_2312-80", "gb_2312", "x-gbk", "cp936", "euc-cn", "x-euc-cn", "csgb2312", "936"}
_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
APPEAL_NO = re.compile(r"\b([A-Z]{1,8}-\d{8}-\d{6,})\b")
_OUR_ID = re.compile(r"<(?:ack|answer)\.([A-Z]{1,8}-\d{8}-\d{6,})\.[0-9a-f]+@([^>]+)>")


def charset(label: str | None) -> str:
    """The codec to decode a declared charset with: the GB family as gb18030."""
    name = (label or "").strip().strip('"').lower()
    if name in _GB or name.startswith("gb2312"):
        return "gb18030"
    return name or "us-ascii"


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Bytes in a declared (or missing, or wrong) charset -> text; never raises."""
    for codec in (charset(label), "utf-8", "gb18030"):
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("gb18030", errors="replace")


def _word(cs: str, encoding: str, payload: str) -> str:
    try:
        if encoding.lower() == "b":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            data = quopri.decodestring(payload.replace("_", " ").encode("ascii"), header=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return payload
    return decode_bytes(data, cs.split("*")[0])


def header_text(raw: str) -> str:
    """A header value as stored by the parser (8-bit bytes kept as surrogates) -> text."""
    data = raw.encode("ascii", "surrogateescape")
    value = decode_bytes(data, "utf-8") if any(b > 127 for b in data) else raw
    value = re.sub(r"\r?\n[ \t]", " ", value)  # unfold
    value = _BETWEEN_WORDS.sub(r"\1\2", value)
    return _WORD.sub(lambda m: _word(m.group(1), m.group(2), m.group(3)), value).strip()


def header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return header_text(str(value))
    return None


def address(value: str | None) -> tuple[str, str]:
    """(display name, lower-case address) of an address header's text."""
    name, addr = parseaddr(value or "")
    return name.strip().strip('"'), addr.strip().lower()


def message_ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


# --- the loop guard --------------------------------------------------------------------------------


def is_bounce(msg: Message) -> bool:
    """A delivery-status report (RFC 3464) or a mailer-daemon's notice."""
    if msg.get_content_type() == "multipart/report":
        return True
    if any(part.get_content_type() == "message/delivery-status" for part in msg.walk()):
        return True
    _, sender = address(header(msg, "From"))
    local = sender.split("@")[0]
    return local in {"mailer-daemon", "postmaster"} and header(msg, "Return-Path") in ("<>", "")


def loop_reason(msg: Message, own_address: str) -> str | None:
    """Why this mail must get no appeal and no answer (automatic, bulk, or our own), else None."""
    auto = (header(msg, "Auto-Submitted") or "no").split(";")[0].strip().lower()
    if auto != "no":
        return f"auto-submitted: {auto}"
    if (header(msg, "Precedence") or "").strip().lower() in {"bulk", "junk", "list"}:
        return "precedence"
    if header(msg, "List-Id") is not None:
        return "list-id"
    for name in ("X-Autoreply", "X-Autorespond"):
        if header(msg, name) is not None:
            return name.lower()
    if (header(msg, "X-Autoreply-From") or "").strip():
        return "x-autoreply-from"
    if header(msg, "Return-Path") is not None and not address(header(msg, "Return-Path"))[1]:
        return "empty return-path"
    _, sender = address(header(msg, "From"))
    if not sender:
        return "no sender"
    if sender == own_address.lower():
        return "our own address"
    return None


# --- the text --------------------------------------------------------------------------------------


class _Text(HTMLParser):
    _BLOCK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr"})
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        if tag == "blockquote":
            self.quoted += 1
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skipping:
            self.skipping -= 1
        if tag == "blockquote" and self.quoted:
            self.quoted -= 1
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping and not self.quoted:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    """HTML mail -> plain text: block tags become line breaks; scripts, styles and quoted
    ``<blockquote>`` history are dropped; entities are resolved (no DTDs exist in HTML)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_QUOTE_START = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:原始邮件|原始郵件|Original Message|Forwarded message|转发邮件)\s*-{2,}"
    r"|_{10,}"
    r"|(?:发件人|From)\s*[:：].+"
    r"|On .+ wrote:\s*"
    r"|在\s*.{4,60}(?:写道|寫道)\s*[:：]?"
    r"|.{0,60}\d{4}年\d{1,2}月\d{1,2}日.{0,40}(?:写道|寫道)\s*[:：]?"
    r")\s*$",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """Drop quoted history: ``>`` lines and everything from a client's reply separator on."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _QUOTE_START.match(line) and any(k.strip() for k in kept):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _filename(part: Message) -> str | None:
    for key, value in part.raw_items():
        if key.lower() in {"content-disposition", "content-type"}:
            match = re.search(r'(?:file)?name\*?=\s*"?([^";]+)"?', header_text(str(value)), re.IGNORECASE)
            if match:
                name = match.group(1).strip()
                if "''" in name:  # RFC 2231: charset''percent-encoded (any charset label: never raises)
                    cs, _, encoded = name.partition("''")
                    name = decode_bytes(unquote_to_bytes(encoded), cs)
                return name
    return None


@dataclass(frozen=True)
class MailFile:
    """An attachment: its bytes are kept under ``key`` when within the size limit."""

    name: str | None
    mime_type: str
    size: int
    sha256: str
    data: bytes | None


def _kind(mime: str) -> AttachmentKind:
    major = mime.split("/")[0]
    if major in {"image", "audio", "video"}:
        return AttachmentKind(major)
    if major == "text" or mime in {"application/pdf", "application/msword"} or "officedocument" in mime:
        return AttachmentKind.document
    return AttachmentKind.other


def body_and_files(
    msg: Message, max_attachment_bytes: int, max_attachments: int
) -> tuple[str, list[MailFile]]:
    plain: list[str] = []
    html: list[str] = []
    files: list[MailFile] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        mime = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        name = _filename(part)
        if disposition != "attachment" and name is None and mime in {"text/plain", "text/html"}:
            text = decode_bytes(_payload(part), part.get_content_charset())
            (plain if mime == "text/plain" else html).append(text)
            continue
        if mime in {"message/delivery-status", "message/rfc822"} or mime.startswith("multipart/"):
            continue
        data = _payload(part)
        if len(files) >= max_attachments:
            continue
        keep = len(data) <= max_attachment_bytes
        files.append(
            MailFile(name, mime, len(data), hashlib.sha256(data).hexdigest(), data if keep else None)
        )
    text = "\n".join(plain) if plain else "\n".join(html_to_text(h) for h in html)
    return strip_quoted(text), files


# --- the draft -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """What the adapter needs of one mail besides the draft."""

    draft: AppealDraft
    message_id: str | None
    sender: str
    reply_to: str
    subject: str
    references: tuple[str, ...]
    files: tuple[MailFile, ...]

    def our_appeal(self, domain: str) -> str | None:
        """The appeal number this mail answers, when it replies to an acknowledgement (or an
        answer) we sent: our Message-IDs carry it; else a number in the subject."""
        for ref in reversed(self.references):
            match = _OUR_ID.fullmatch(ref)
            if match and match.group(2).lower() == domain.lower():
                return match.group(1)
        if re.match(r"^\s*(?:re|回复|答复|回覆)\s*[:：]", self.subject, re.IGNORECASE):
            found = APPEAL_NO.search(self.subject)
            return found.group(1) if found else None
        return None


def parse(raw: bytes) -> Message:
    return message_from_bytes(raw)


def mail_key(msg: Message) -> str:
    """The Message-ID guard: the Message-ID, or a hash of sender, date and subject without one."""
    ids = message_ids(header(msg, "Message-ID"))
    if ids and len(ids[0]) <= 190:
        return "msgid:" + ids[0].strip("<>")
    basis = "\x1f".join(header(msg, n) or "" for n in ("From", "Date", "Subject", "Message-ID"))
    return "sha256:" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def _occurred(msg: Message) -> datetime | None:
    value = header(msg, "Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _default_key(sha256: str) -> str:
    return f"mail-attachment:{sha256}"


def decode_mail(
    raw: bytes,
    *,
    max_attachment_bytes: int = 5_000_000,
    max_attachments: int = 10,
    attachment_key: Callable[[str], str] = _default_key,
    msg: Message | None = None,
) -> Mail:
    """Raw RFC 5322 bytes -> the draft of an appeal (raises ``ValueError`` when the mail holds
    nothing an appeal can be made of)."""
    msg = msg or parse(raw)
    name, sender = address(header(msg, "From"))
    reply_to = next((a for _, a in getaddresses([header(msg, "Reply-To") or ""]) if "@" in a), sender)
    subject = re.sub(r"\s+", " ", header(msg, "Subject") or "").strip()
    text, files = body_and_files(msg, max_attachment_bytes, max_attachments)
    skipped = [f for f in files if f.data is None]
    if skipped:
        names = "、".join(f.name or f.mime_type for f in skipped)
        text += f"\n\n（附件 {names} 超过大小限制，未保存）"
    content = text.strip() or subject or ("（邮件无正文，见附件）" if files else "")
    if not content:
        raise ValueError("the mail has no subject, text or attachment")
    if len(content) > MAX_CONTENT:
        content = content[: MAX_CONTENT - 20] + "\n（内容过长，已截断）"
    attachments = tuple(
        Attachment(
            kind=_kind(f.mime_type),
            key=attachment_key(f.sha256) if f.data is not None else None,
            mime_type=f.mime_type,
            size=f.size,
        )
        for f in files
    )
    ids = message_ids(header(msg, "Message-ID"))
    references = tuple(message_ids(header(msg, "References")) + message_ids(header(msg, "In-Reply-To")))
    draft = AppealDraft(
        external_id=mail_key(msg),
        citizen=Citizen(
            name=name[:100] or None,
            identity=ChannelIdentity(kind=IdentityKind.email, value=sender) if sender else None,
        ),
        subject=subject[:200] or None,
        content=content,
        attachments=attachments,
        reply_route=ReplyRoute(kind=ReplyRouteKind.email, address=reply_to) if reply_to else None,
        occurred_at=_occurred(msg),
    )
    return Mail(draft, ids[0] if ids else None, sender, reply_to, subject, references, tuple(files))
