"""Appeal numbers: ``<prefix>-<YYYYMMDD>-<sequence>``, unique and sortable within a prefix."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def appeal_day(at: datetime) -> str:
    """The local (Asia/Shanghai) day an appeal number is counted in, as YYYYMMDD."""
    return at.astimezone(SHANGHAI).strftime("%Y%m%d")


def format_appeal_no(prefix: str, day: str, sequence: int) -> str:
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    return f"{prefix}-{day}-{sequence:06d}"
