"""Search for operators: Chinese full text over subject and content (words of three characters or
more: SQLite FTS5 with the trigram tokenizer, PostgreSQL pg_trgm; two-character words: the index of
the appeals' character bigrams, :mod:`gateway.records.bigrams`; one character: a scan), the phone by
its normalized number or last four digits, unit, state, channel, category, area and time; newest
first, a page at a time."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import ColumnElement, Select, Text, and_, func, literal_column, or_, select, text, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import BadRequest
from gateway.loop import State
from gateway.records.bigrams import indexed
from gateway.records.schema import appeals
from normalizer import SHANGHAI
from normalizer.phone import normalize_phone

TRIGRAM = 3  # shorter terms cannot use the trigram indexes (pairs use the bigrams)
COUNT_CAP = 1000  # PostgreSQL text searches count this many matches at most
YEARS = (2000, 2100)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LAST_FOUR = re.compile(r"^\d{4}$")


def _moment(value: str, *, end: bool) -> datetime:
    """A date (the whole day, Asia/Shanghai) or an ISO 8601 time (Asia/Shanghai when no offset)."""
    value = value.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        moment = datetime.fromisoformat(value)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)
    else:
        moment = datetime.combine(day, time(), SHANGHAI) + timedelta(days=1 if end else 0)
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise ValueError(f"a time between the years {YEARS[0]} and {YEARS[1]}")
    return moment


class SearchQuery(BaseModel):
    """The query of ``GET /api/v1/appeals`` and ``hotline-gateway appeals search``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)

    q: str | None = Field(default=None, max_length=200, description="words of the subject or content")
    phone: str | None = Field(default=None, max_length=32, description="the number, or its last 4 digits")
    unit: str | None = Field(default=None, max_length=64)
    state: State | None = None
    channel: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=200, description="first level, or a path a/b")
    area: str | None = Field(default=None, max_length=64, description="an area id, or a county's")
    supervised: bool | None = Field(default=None, description="under supervision (督办) or not")
    from_: str | None = Field(default=None, alias="from", description="a date or ISO time, inclusive")
    to: str | None = Field(default=None, description="a date (inclusive) or ISO time (exclusive)")
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=100)

    @field_validator("q", "phone", "unit", "channel", "category", "area", "from_", "to")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value and _CONTROL.search(value):
            raise ValueError("control characters are not allowed")
        return value

    @field_validator("from_", "to")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value:
            _moment(value, end=False)  # raises ValueError: reported under the parameter's name
        return value or None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value and not _LAST_FOUR.match(value) and not normalize_phone(value).startswith("+"):
            raise ValueError("a phone number, or its last four digits")
        return value or None

    @model_validator(mode="after")
    def _order(self) -> SearchQuery:
        if self.from_ and self.to and _moment(self.from_, end=False) >= _moment(self.to, end=True):
            raise ValueError("from must be before to")
        return self

    def terms(self) -> list[str]:
        return [t for t in (self.q or "").split() if t]


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_match(terms: list[str]) -> str:
    """One FTS5 query: every term as a quoted phrase (a substring, through the trigram index; a
    bigram, one token of ``appeals_bigrams``)."""
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _kinds(terms: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The terms by how they are found: (three characters or more: the trigram index; two indexed
    characters: the bigram index; the rest, one character or a pair with another character: a scan)."""
    long = [t for t in terms if len(t) >= TRIGRAM]
    pairs = [t for t in terms if len(t) < TRIGRAM and indexed(t)]
    short = [t for t in terms if len(t) < TRIGRAM and not indexed(t)]
    return long, pairs, short


def _fts_rowids(table: str, terms: list[str]) -> Select[Any]:
    """The rowids of the appeals an FTS5 table (``appeals_fts`` or ``appeals_bigrams``) matches."""
    return (
        select(literal_column("rowid"))
        .select_from(text(table))
        .where(text(f"{table} MATCH :{table}").bindparams(**{table: _fts_match(terms)}))
    )


def _text_filters(terms: list[str], dialect: str) -> list[ColumnElement[bool]]:
    """Every term in the subject or the content. Terms of three characters or more go through the
    trigram index, two-character words through the bigram index (SQLite: the FTS5 tables, tested by
    rowid while the page is read newest first: ``+id`` keeps SQLite from reading every match's row;
    PostgreSQL: the pg_trgm index, and ``bigrams @> ARRAY[...]`` on its GIN index); one character,
    or two with one that is not indexed, is scanned for."""
    long, pairs, short = _kinds(terms)
    where: list[ColumnElement[bool]] = []
    if dialect == "sqlite":
        rowid: ColumnElement[int] = literal_column("+appeals.id")
        if long:
            where.append(rowid.in_(_fts_rowids("appeals_fts", long)))
        if pairs:
            where.append(rowid.in_(_fts_rowids("appeals_bigrams", pairs)))
        for like in (_like(t) for t in short):
            subject, content = appeals.c.subject, appeals.c.content
            where.append(or_(subject.like(like, escape="\\"), content.like(like, escape="\\")))
        return where
    # the same expression as the trigram index
    whole: ColumnElement[str] = literal_column("(appeals.subject || ' ' || appeals.content)")
    where = [whole.like(_like(t), escape="\\") for t in long + short]  # Chinese has no case: LIKE is cheaper
    if pairs:
        where.append(type_coerce(appeals.c.bigrams, ARRAY(Text())).contains(pairs))
    return where


def conditions(query: SearchQuery, dialect: str, *, county: bool = False) -> list[ColumnElement[bool]]:
    """The query's conditions; ``county``: the ``area`` asked for is a county or district (its
    appeals are those of its towns and streets too)."""
    c = appeals.c
    where = _text_filters(query.terms(), dialect)
    if query.phone:
        if _LAST_FOUR.match(query.phone):
            where.append(c.phone_last4 == query.phone)
        else:
            where.append(c.phone == normalize_phone(query.phone))
    for column, value in ((c.unit, query.unit), (c.channel_id, query.channel)):
        if value:
            where.append(column == value)
    if query.state:
        where.append(c.state == query.state.value)
    if query.category:
        path = query.category.strip("/")
        if "/" not in path:
            where.append(c.category == path)
        else:
            under = c.category_path.like(_like(path)[1:-1] + "/%", escape="\\")
            where.append(or_(c.category_path == path, under))
    if query.supervised is not None:
        where.append(c.supervised.is_(query.supervised))
    if query.area:
        where.append(c.county == query.area if county else c.area == query.area)
    if query.from_:
        where.append(c.received_at >= _moment(query.from_, end=False))
    if query.to:
        where.append(c.received_at < _moment(query.to, end=True))
    return where


ITEM_COLUMNS = ("appeal_no", "state", "unit", "subject", "channel_id", "category_path", "area", "received_at")


def _item(row: Any) -> dict[str, Any]:
    return {
        "appeal_no": row.appeal_no,
        "state": row.state,
        "unit": row.unit,
        "subject": row.subject,
        "channel": row.channel_id,
        "category": row.category_path.split("/") if row.category_path else [],
        "area": row.area,
        "received_at": row.received_at.astimezone(SHANGHAI).isoformat(),
    }


def _indexed_text_count(query: SearchQuery) -> Select[Any] | None:
    """SQLite: when the query is words found through the FTS5 indexes and nothing else, its count
    read from those indexes alone (no appeal's row is read); else None."""
    others = query.model_dump(exclude={"q", "page", "per_page"}, exclude_none=True)
    long, pairs, short = _kinds(query.terms())
    if others or short or not (long or pairs):
        return None
    matched = _fts_rowids("appeals_fts", long) if long else _fts_rowids("appeals_bigrams", pairs)
    if long and pairs:
        matched = matched.where(literal_column("rowid").in_(_fts_rowids("appeals_bigrams", pairs)))
    return select(func.count()).select_from(matched.subquery())


def statements(
    query: SearchQuery, dialect: str, *, county: bool = False, few: bool = False
) -> tuple[Select[Any], Select[Any]]:
    """The count and the page. On PostgreSQL a text search counts at most ``COUNT_CAP`` + 1 matches
    (each match is rechecked in its row: counting every one of a common phrase costs seconds), and
    ``few`` (fewer matches than that) reads the page from the trigram index's matches rather than
    walking the newest appeals until the page is full."""
    where = and_(True, *conditions(query, dialect, county=county))
    count = select(func.count()).select_from(appeals).where(where)
    text_on_postgres = dialect != "sqlite" and bool(query.terms())
    indexed_count = _indexed_text_count(query) if dialect == "sqlite" else None
    if indexed_count is not None:
        count = indexed_count
    elif text_on_postgres:
        count = select(func.count()).select_from(
            select(appeals.c.id).where(where).limit(COUNT_CAP + 1).subquery()
        )
    order = (appeals.c.received_at.desc(), appeals.c.id.desc())
    columns = [appeals.c[name] for name in ITEM_COLUMNS]
    if text_on_postgres and few:
        matched = select(appeals.c.id).where(where).cte("matched").prefix_with("MATERIALIZED")
        page = select(*columns).join_from(appeals, matched, appeals.c.id == matched.c.id)
    else:
        page = select(*columns).where(where)
    page = page.order_by(*order).limit(query.per_page).offset((query.page - 1) * query.per_page)
    return count, page


async def search(engine: AsyncEngine, query: SearchQuery) -> dict[str, Any]:
    """``{"total": N, "total_exact": bool, "page": p, "per_page": n, "items": [...]}``, newest first
    (``total_exact`` is false when a text search on PostgreSQL found more than ``COUNT_CAP``)."""
    dialect = engine.dialect.name
    async with engine.connect() as conn:
        county = bool(
            query.area and await conn.scalar(select(1).where(appeals.c.county == query.area).limit(1))
        )  # an area id names a county when appeals were recorded in it as one
        count, _ = statements(query, dialect, county=county)
        total = int(await conn.scalar(count) or 0)
        exact = not (dialect != "sqlite" and query.terms() and total > COUNT_CAP)
        _, page = statements(query, dialect, county=county, few=exact)
        items = [_item(row) for row in (await conn.execute(page))] if total else []
    return {
        "total": total if exact else COUNT_CAP,
        "total_exact": exact,
        "page": query.page,
        "per_page": query.per_page,
        "items": items,
    }


def parse_query(params: dict[str, list[str]]) -> SearchQuery:
    """Parameters (each a list of values, as a query string has them) as a :class:`SearchQuery`;
    a 400 names the first bad parameter. ``GET /api/v1/appeals`` validates the same model."""
    for name, values in params.items():
        if len(values) > 1:
            raise BadRequest(f"{name} is given more than once", field=name)
    try:
        return SearchQuery.model_validate({name: values[0] for name, values in params.items()})
    except ValidationError as e:
        first = e.errors(include_url=False, include_input=False, include_context=False)[0]
        name = ".".join(str(part) for part in first["loc"]) or "query"
        raise BadRequest(f"{name}: {first['msg']}", field=name) from None
