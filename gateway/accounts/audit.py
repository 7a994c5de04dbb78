"""The audit of personal data: every read of it by anyone (an operator opening an appeal with the
citizen's contact, a contact reveal, an export with contact) and every refused attempt (a supervisor
asking for it) is a row of the ``audit`` table; admins query it with ``GET /api/v1/audit``.

A row names who (actor and role), what (``action``), which appeal, whether it was allowed, and a
detail without the personal data itself. Without a database the row is logged instead (never the
data itself); when the database is configured but the row cannot be written, the read is refused
(503): personal data is never shown unaudited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import and_, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import TransientError
from gateway.records.db import writing
from gateway.records.schema import audit
from gateway.records.search import _moment
from normalizer import SHANGHAI

log = structlog.get_logger("audit")

# what was read (or asked for)
READ_APPEAL = "read_appeal"  # the appeal with its contact, as operators and admins see it
REVEAL_CONTACT = "reveal_contact"  # the contact endpoint, or ?reveal=contact
SEARCH_PHONE = "search_phone"  # a search by the citizen's phone number
EXPORT_CONTACT = "export_contact"  # appeals export --with-contact


async def write(
    engine: AsyncEngine | None,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    *,
    appeal_no: str | None = None,
    allowed: bool = True,
    **detail: Any,
) -> None:
    row = {
        "at": at,
        "actor": actor,
        "role": role,
        "action": action,
        "appeal_no": appeal_no,
        "allowed": allowed,
        "detail": detail,
    }
    if engine is None:
        log.warning("audit.unrecorded", **{k: v for k, v in row.items() if k != "at"})
        return
    try:
        async with writing(engine) as conn:
            await conn.execute(insert(audit).values(row))
    except (SQLAlchemyError, OSError) as e:
        log.error("audit.write_failed", action=action, appeal_no=appeal_no, error=type(e).__name__)
        raise TransientError("the audit cannot be written now; personal data is not shown without it") from e


class AuditQuery(BaseModel):
    """The query of ``GET /api/v1/audit``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)

    actor: str | None = Field(default=None, max_length=200)
    appeal_no: str | None = Field(default=None, max_length=40)
    from_: str | None = Field(default=None, alias="from", description="a date or ISO time, inclusive")
    to: str | None = Field(default=None, description="a date (inclusive) or ISO time (exclusive)")
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=50, ge=1, le=500)

    @field_validator("from_", "to")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value:
            _moment(value, end=False)
        return value or None

    @model_validator(mode="after")
    def _order(self) -> AuditQuery:
        if self.from_ and self.to and _moment(self.from_, end=False) >= _moment(self.to, end=True):
            raise ValueError("from must be before to")
        return self


def _row(row: Any) -> dict[str, Any]:
    return {
        "at": row.at.astimezone(SHANGHAI).isoformat(),
        "actor": row.actor,
        "role": row.role,
        "action": row.action,
        "appeal_no": row.appeal_no,
        "allowed": row.allowed,
        "detail": row.detail,
    }


async def query(engine: AsyncEngine, q: AuditQuery) -> dict[str, Any]:
    """``{"total", "page", "per_page", "items": [...]}``, newest first."""
    c = audit.c
    where = [c.actor == q.actor] if q.actor else []
    if q.appeal_no:
        where.append(c.appeal_no == q.appeal_no)
    if q.from_:
        where.append(c.at >= _moment(q.from_, end=False))
    if q.to:
        where.append(c.at < _moment(q.to, end=True))
    condition = and_(True, *where)
    async with engine.connect() as conn:
        total = int(await conn.scalar(select(func.count()).select_from(audit).where(condition)) or 0)
        rows = await conn.execute(
            select(audit)
            .where(condition)
            .order_by(c.at.desc(), c.id.desc())
            .limit(q.per_page)
            .offset((q.page - 1) * q.per_page)
        )
        items = [_row(r) for r in rows]
    return {"total": total, "page": q.page, "per_page": q.per_page, "items": items}
