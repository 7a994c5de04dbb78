"""Fuzz target: the mailbox kind's inbound surface, the mail itself (the kind has no HTTP route).

Raw RFC 5322 messages, plausible and hostile (multipart nested 1,000 deep, RFC 2047 words in
unknown or lying charsets, bodies that are not their declared charset, broken base64 and
quoted-printable, RFC 2231 and encoded file names, HTML, 8-bit and over-long headers, missing or
doubled headers, bytes that are not UTF-8 anywhere), go through what the poller does with a fetched
mail before anything is stored: ``parse``, ``mail_key``, ``is_bounce``, ``loop_reason`` and
``decode_mail``. A mail may be refused only as the poller expects (``ValueError``, which it turns
into ``BadMessage``: counted ``bad``, marked seen, the next mail read); any other exception is a
crash: the poller would stop at that mail, reconnect and fetch it again, forever.

    .venv/bin/python -m bench.fuzz_mail [--examples N] [--seed S] [--json]    # make fuzz: N=100000

Exit status 1 on any crash; the first few mails that caused one are printed (as Python bytes).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import strategies as st

from adapters.mailbox.decode import decode_mail, is_bounce, loop_reason, mail_key, parse
from bench.fuzz import in_rounds
from gateway.progress import track

OWN = "12345@bengbu.gov.cn"
CHARSETS = ["utf-8", "gb2312", "gbk", "gb18030", "big5", "iso-8859-1", "utf-7", "x-unknown", "", "utf-16"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "bogus"]
MIME = ["text/plain", "text/html", "image/jpeg", "application/pdf", "message/rfc822", "multipart/mixed"]
MIME += ["multipart/alternative", "text/", "/", "", "application/octet-stream", "message/delivery-status"]
TEXTS = ["胜利路路灯坏了一个多月", "你好", "", "=?", "\u00b2", "<p>淮上区<b>占道</b></p>", "x" * 5000]


def _bytes(text: str, charset: str) -> bytes:
    """``text`` in ``charset`` where Python knows it, else in UTF-8 (the label then lies)."""
    try:
        return text.encode(charset or "utf-8", "replace")
    except LookupError:
        return text.encode("utf-8", "surrogatepass")


def _encoded_word(text: str, charset: str, how: str, lie: bool) -> str:
    data = _bytes(text, "utf-8" if lie else charset)
    if how == "B":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    return f"=?{charset}?Q?{''.join(f'={b:02X}' for b in data)}?="


words = st.builds(
    _encoded_word,
    st.sampled_from(TEXTS),
    st.sampled_from(CHARSETS),
    st.sampled_from(["B", "Q"]),
    st.booleans(),
)
header_values = st.one_of(
    st.sampled_from(["", "=?utf-8?B?not base64?=", "=?gbk?Q?=ZZ?=", "<>", "<" * 300, "\u00e9", "a" * 20000]),
    words,
    st.lists(words, max_size=4).map(" ".join),
    st.text(max_size=60).map(lambda t: t.replace("\r", " ").replace("\n", " ")),
)
addresses = st.one_of(
    st.sampled_from(
        ["citizen@example.com"] * 4 + ["市民 <citizen@example.com>", "<>", '"a@b" <c@d>', "@", ""]
    ),
    st.builds(lambda w: f"{w} <citizen@example.com>", words),
    header_values,
)
AUTOMATIC = st.sampled_from(  # the loop guard's markers: rarely, so most mails reach the decoder
    [f"From: {OWN}", "From: MAILER-DAEMON@example.com", "Auto-Submitted: auto-replied", "Precedence: bulk"]
)
HEADERS = {
    "From": addresses,
    "Reply-To": addresses,
    "To": addresses,
    "Subject": header_values | st.sampled_from(["回复：BB-20261129-000042", "Re: 您的诉求", "自动回复"]),
    "Message-ID": st.sampled_from(["<a@b>", "<>", "", "<" + "m" * 300 + ">"]) | header_values,
    "In-Reply-To": st.sampled_from(["<a@b>", "<BB-20261129-000042@bengbu.gov.cn>"]) | header_values,
    "References": header_values,
    "Date": st.sampled_from(
        ["Mon, 30 Nov 2026 10:00:00 +0800", "yesterday", "Mon, 99 Foo 9999 99:99:99 +9999"]
    )
    | header_values,
    "Content-Disposition": st.sampled_from(
        [
            'attachment; filename="a.jpg"',
            "attachment; filename*=gbk''%D6%D0.txt",
            "attachment; filename*=x''%ZZ",
        ]
    )
    | st.builds(lambda w: f'attachment; filename="{w}"', words),
}


def _body(text: str, charset: str, encoding: str) -> bytes:
    data = _bytes(text, charset)
    if encoding == "base64":
        return base64.encodebytes(data)
    if encoding == "quoted-printable":
        return b"=E4=B8=AD=ZZ=\r\n" + data
    return data


@st.composite
def parts(draw: st.DrawFn, depth: int = 0) -> bytes:
    """One MIME entity: headers, then a body or (multipart) more entities."""
    mime = draw(st.sampled_from(MIME))
    charset, encoding = draw(st.sampled_from(CHARSETS)), draw(st.sampled_from(ENCODINGS))
    chosen = draw(st.dictionaries(st.sampled_from(sorted(HEADERS)), st.just(None), max_size=6))
    lines = [f"{name}: {draw(HEADERS[name])}" for name in chosen]
    if depth == 0:  # a sender nearly always (the loop guard drops a mail without one)
        lines.insert(0, f"From: {draw(addresses)}")
        if draw(st.integers(0, 19)) == 0:
            lines.append(draw(AUTOMATIC))
    if mime.startswith("multipart/") and depth < 3:
        boundary = draw(st.sampled_from(["b1", "", "b1\x00", "x" * 100]))
        inner = draw(st.lists(parts(depth + 1), max_size=3))
        head = [*lines, f'Content-Type: {mime}; boundary="{boundary}"']
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in inner)
        closing = draw(st.sampled_from([b"--" + boundary.encode() + b"--\r\n", b""]))
        return "\r\n".join(head).encode("utf-8", "surrogatepass") + b"\r\n\r\n" + body + closing
    head = [*lines, f"Content-Type: {mime}; charset={charset}", f"Content-Transfer-Encoding: {encoding}"]
    text = draw(st.sampled_from(TEXTS) | st.text(max_size=200))
    raw_header = "\r\n".join(head).encode("utf-8", "surrogatepass")
    return raw_header + b"\r\n\r\n" + _body(text, charset, encoding)


def _nested(depth: int) -> bytes:
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (i, i) for i in range(depth)
    )
    return (
        b"From: citizen@example.com\r\nSubject: deep\r\n" + head + b"Content-Type: text/plain\r\n\r\n" + b"x"
    )


mails = st.one_of(
    parts(),
    parts(),
    parts(),
    st.binary(max_size=2000),
    st.sampled_from([_nested(1000), _nested(50), b"", b"\r\n\r\n", b"From:\r\n\r\n", b"\xff\xfe" * 500]),
    st.builds(lambda p, junk: p + junk, parts(), st.binary(max_size=200)),
    st.builds(lambda name: f"{name}: {'v' * 100_000}\r\n\r\nbody".encode(), st.sampled_from(sorted(HEADERS))),
)


@dataclass
class Tally:
    mails: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0


def take(raw: bytes) -> str:
    """What the poller does with one fetched mail before storing it; the outcome's name."""
    msg = parse(raw)
    mail_key(msg)
    if is_bounce(msg):
        return "bounce"
    if loop_reason(msg, OWN) is not None:
        return "automatic"
    try:
        decode_mail(raw, max_attachment_bytes=100_000, max_attachments=5, msg=msg)
    except ValueError:
        return "bad"
    return "appeal"


def fuzz(examples: int, at_seed: int) -> Tally:
    tally = Tally()
    ticks = iter(track(range(examples), "fuzz mail"))  # a bar on a terminal, silent when piped

    def one(raw: bytes) -> None:
        next(ticks, None)
        tally.mails += 1
        try:
            tally.outcomes[take(raw)] += 1
        except Exception as e:  # the crash this target looks for
            tally.crashes += 1
            if len(tally.examples) < 5:
                tally.examples.append(f"{type(e).__name__}: {e!s:.200} <- {raw[:300]!r}")

    started = time.perf_counter()
    in_rounds(mails, examples, one, first_seed=at_seed)
    tally.seconds = time.perf_counter() - started
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_mail", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    tally = fuzz(args.examples, args.seed)
    summary = {
        "surface": "mail",
        "inputs": tally.mails,
        "outcomes": dict(tally.outcomes),
        "crashes": tally.crashes,
        "seconds": round(tally.seconds, 1),
        "per_second": round(tally.mails / max(tally.seconds, 1e-9)),
        "examples": tally.examples,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        outcomes = dict(tally.outcomes)
        print(
            f"mail: {tally.mails} mails in {tally.seconds:.0f} s, outcomes {outcomes}, "
            f"crashes {tally.crashes}"
        )
        for example in tally.examples:
            print("  " + example)
    return 1 if tally.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
