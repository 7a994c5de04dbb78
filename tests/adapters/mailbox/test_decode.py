"""The pure mail decoder against golden fixtures (adapters/mailbox/fixtures), and the loop guard."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest

from adapters.mailbox.decode import decode_mail, html_to_text, is_bounce, loop_reason, parse, strip_quoted

FIXTURES = Path(__file__).parents[3] / "adapters" / "mailbox" / "fixtures"
CASES = sorted(FIXTURES.glob("*.eml"))
OWN = "mayor@bengbu.gov.cn"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_fixture_decodes_to_its_golden_draft(path: Path) -> None:
    case = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    mail = decode_mail(path.read_bytes(), max_attachment_bytes=case["max_attachment_bytes"])
    assert mail.draft.model_dump(mode="json") == case["draft"]
    assert mail.our_appeal("bengbu.gov.cn") == case["replies_to"]
    assert loop_reason(parse(path.read_bytes()), OWN) is None


def test_gb2312_label_with_gbk_only_characters_is_decoded_as_gb18030() -> None:
    raw = (FIXTURES / "gbk-labelled-gb2312.eml").read_bytes()
    naive = message_from_bytes(raw).get_payload(decode=True).decode("gb2312", errors="replace")
    assert "\ufffd" in naive  # what a decoder trusting the label gets
    content = decode_mail(raw).draft.content
    assert "\ufffd" not in content and "镕" in content and "喆" in content and "堃" in content


def _mail(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "resident@example.cn"
    msg["Subject"] = "x"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("text")
    return msg


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "auto-submitted: auto-replied"),
        ({"Auto_Submitted": "auto-generated; owner-email=x@y"}, "auto-submitted: auto-generated"),
        ({"Precedence": "bulk"}, "precedence"),
        ({"Precedence": "junk"}, "precedence"),
        ({"Precedence": "list"}, "precedence"),
        ({"List_Id": "<news.example.cn>"}, "list-id"),
        ({"X_Autoreply": "yes"}, "x-autoreply"),
        ({"X_Autorespond": "vacation"}, "x-autorespond"),
        ({"Return_Path": "<>"}, "empty return-path"),
        ({"Auto_Submitted": "no"}, None),
        ({"Precedence": "first-class"}, None),
    ],
)
def test_loop_guard(headers: dict[str, str], reason: str | None) -> None:
    assert loop_reason(parse(_mail(**headers).as_bytes()), OWN) == reason


def test_our_own_mail_is_never_answered() -> None:
    msg = _mail()
    msg.replace_header("From", "蚌埠市长信箱 <Mayor@Bengbu.gov.cn>")
    assert loop_reason(parse(msg.as_bytes()), OWN) == "our own address"


def test_a_delivery_status_report_is_a_bounce() -> None:
    from tests.adapters.mailbox.test_mailbox import BOUNCE

    assert is_bounce(parse(BOUNCE))
    assert not is_bounce(parse(_mail().as_bytes()))


@pytest.mark.parametrize(
    "separator",
    [
        "------------------ 原始邮件 ------------------",
        "-----Original Message-----",
        "________________________________",
        "发件人: 蚌埠市长信箱 <mayor@bengbu.gov.cn>",
        "On Sun, Nov 29, 2026 at 9:00 AM 蚌埠市长信箱 <mayor@bengbu.gov.cn> wrote:",
        "在 2026年11月29日 09:00，蚌埠市长信箱 写道：",
    ],
)
def test_quoted_history_is_stripped(separator: str) -> None:
    text = f"路灯还是不亮。\r\n\r\n{separator}\r\n您好，您的来信已受理。\r\n> 更早的引用\r\n"
    assert strip_quoted(text) == "路灯还是不亮。"


def test_quote_lines_are_dropped_but_a_lone_separator_at_the_top_is_kept() -> None:
    assert strip_quoted("> old\n新的内容\n> older") == "新的内容"
    assert strip_quoted("发件人: 王五\n内容") == "发件人: 王五\n内容"


def test_html_to_text_drops_scripts_styles_and_quotes() -> None:
    html = "<style>x{}</style><p>第一行<br>第二行&amp;</p><script>evil()</script><blockquote>旧</blockquote>"
    assert html_to_text(html) == "第一行\n第二行&"


@pytest.mark.parametrize("label", ["x", "unknown-8bit", "utf-8", "gbk", ""])
def test_an_rfc_2231_file_name_in_any_charset_label_is_read_not_a_crash(label: str) -> None:
    """Found by bench/fuzz_mail.py: an unknown label raised LookupError, and the poller would have
    fetched that mail again forever."""
    raw = (
        "From: resident@example.cn\r\nSubject: 照片\r\nContent-Type: image/jpeg\r\n"
        f"Content-Disposition: attachment; filename*={label}''%D5%D5%C6%AC.jpg\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n"
    ).encode()
    mail = decode_mail(raw)
    assert mail.draft.content and len(mail.draft.attachments) == 1
    assert mail.files[0].name is not None and mail.files[0].name.endswith(".jpg")


def test_a_mail_with_nothing_in_it_is_refused() -> None:
    with pytest.raises(ValueError):
        decode_mail(b"From: a@b.cn\r\n\r\n")


def test_attachment_over_the_limit_is_listed_not_kept() -> None:
    mail = decode_mail((FIXTURES / "attachments.eml").read_bytes(), max_attachment_bytes=2000)
    kept = {f.mime_type: f.data is not None for f in mail.files}
    assert kept == {"image/jpeg": True, "application/pdf": False}
    assert "big.pdf" in mail.draft.content
    assert mail.files[0].name == "楼道.jpg"
