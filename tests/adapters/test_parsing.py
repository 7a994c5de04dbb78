"""The shared inbound parsers: every hostile body is a BadRequest (a 400), never another error."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from adapters.parsing import Digits, load_form, load_json, load_object, validated
from adapters.signatures import same
from gateway.errors import BadRequest


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b"[" * 33 + b"]" * 33, "nested deeper"),
        (b'{"a": ' + b"9" * 5000 + b"}", "longer than 40 digits"),
        (b'{"a": ' + b"9" * 41 + b"}", "longer than 40 digits"),
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b'{"a": NaN}', "not a JSON number"),
        (b'{"a": -Infinity}', "not a JSON number"),
        (b'{"a": "\xed\xa0\x80"}', "not UTF-8"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_hostile_json_is_a_bad_request_naming_why(body: bytes, reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        load_json(body)
    assert reason in caught.value.message


def test_ordinary_json_passes_within_the_bounds() -> None:
    assert load_json(b"[" * 32 + b"]" * 32) is not None
    assert load_object('{"a": 1e300, "b": "\\ud83d\\ude00 汉字", "c": 9999999999}'.encode()) == {
        "a": 1e300,
        "b": "😀 汉字",
        "c": 9999999999,
    }
    with pytest.raises(BadRequest):
        load_object(b"[1]")


def test_forms_are_strict_utf8_and_bounded() -> None:
    assert load_form(b"a=%E6%B1%89&b=&a=2") == {"a": "2", "b": ""}
    with pytest.raises(BadRequest, match="not UTF-8"):
        load_form(b"a=%ED%A0%80")
    with pytest.raises(BadRequest, match="more than 200 fields"):
        load_form(b"&".join(b"f%d=1" % i for i in range(201)))


_FORM_PIECES = st.sampled_from(
    ["&", "=", "+", "%", "%E6%B1%89", "%e6%b1", "%89", "%ED%A0%80", "%zz", "%4", "a", "汉", " "]
)


@given(st.lists(_FORM_PIECES | st.text(max_size=3), max_size=30).map("".join))
@settings(max_examples=300, deadline=None)
def test_a_form_is_read_as_parse_qsl_reads_it(form: str) -> None:
    """The fast reader gives parse_qsl's pairs (a repeated name: the last value), or refuses
    exactly where parse_qsl raises (strict UTF-8 inside escapes too)."""
    body = form.encode("utf-8", "surrogatepass")
    try:
        expected: dict[str, str] | None = dict(
            parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=200)
        )
    except (UnicodeDecodeError, ValueError):
        expected = None
    try:
        found: dict[str, str] | None = load_form(body)
    except BadRequest:
        found = None
    assert found == expected


class _Query(BaseModel):
    timestamp: Digits


@pytest.mark.parametrize("value", ["²", "١٢", "１２", "12.5", "-1", "1" * 21, ""])
def test_a_number_from_a_channel_is_ascii_digits(value: str) -> None:
    # '²'.isdigit() and '１２'.isdigit() are True, and int('١٢') is 12: the model refuses them all
    with pytest.raises(BadRequest) as caught:
        validated(_Query, {"timestamp": value})
    assert caught.value.detail["field"] == "timestamp"


def test_credentials_with_bytes_that_are_not_utf8_simply_do_not_match() -> None:
    assert not same("\udcb2", "secret")  # how aiohttp hands over a header byte 0xB2
    assert same("secret", "secret")
