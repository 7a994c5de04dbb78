"""Phone numbers: normalized with phonenumbers, masked for logs (139****1234)."""

from __future__ import annotations

import re

import phonenumbers

_DIGITS = re.compile(r"\d")


def normalize_phone(raw: str, region: str = "CN") -> str:
    """Return E.164 when ``raw`` is a valid number, else ``raw`` stripped (kept, never dropped)."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(number):
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_digits(phone: str) -> str:
    """The national significant number (13912341234 for +8613912341234)."""
    try:
        number = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        return "".join(_DIGITS.findall(phone))
    return phonenumbers.national_significant_number(number)


def mask_phone(phone: str) -> str:
    """Keep the first three and last four digits: 139****1234. Short numbers keep the last two."""
    digits = national_digits(phone)
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 4:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "***"
