"""CTI posts -> call events and appeal drafts; call records -> the call-back list. Pure functions.

The CTI posts one JSON object (or form) per event, in the generic style of helpdesk CTI APIs:

* ``newCall`` / ``answer`` / ``hangup`` with ``callId``, ``from``, ``to``, ``direction``
  (``in`` / ``out``), ``user`` (the agent) and ``cause`` (hangup cause): kept for channel health
  and call statistics; a call that rang and hung up without ``answer`` is *abandoned* and its
  caller goes on the call-back list.
* ``workOrder``: the agent's form (``callId``, ``from``, ``callerName``, ``content``, ``address``,
  ``category`` hint, ``appealType``, ``urgency``): one appeal per ``callId``.
* ``voicemail``: ``callId``, ``from``, ``transcript``, ``recordingUrl``: one appeal per ``callId``,
  the transcript as its content and the recording as an audio attachment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.parsing import load_form, load_object, problem, validated
from gateway.errors import BadRequest
from normalizer import (
    AppealDraft,
    AppealType,
    Attachment,
    AttachmentKind,
    ChannelIdentity,
    Citizen,
    IdentityKind,
    Location,
    Urgency,
    hint_note,
    normalize_phone,
    with_notes,
)

CALL_EVENTS = frozenset({"newCall", "answer", "hangup"})
APPEAL_EVENTS = frozenset({"workOrder", "voicemail"})
MAX_FIELD = 20000
NO_TRANSCRIPT = "（语音留言，暂无文字转写，请收听录音）"

APPEAL_TYPES: dict[str, AppealType] = {
    "投诉": AppealType.complaint,
    "求助": AppealType.help_request,
    "咨询": AppealType.consultation,
    "建议": AppealType.suggestion,
    "举报": AppealType.report,
    "表扬": AppealType.praise,
} | {t.value: t for t in AppealType}
URGENCIES: dict[str, Urgency] = {
    "紧急": Urgency.emergency,
    "特急": Urgency.emergency,
    "加急": Urgency.urgent_utility,
    "一般": Urgency.general,
    "普通": Urgency.general,
    "咨询": Urgency.consultation,
    "复杂": Urgency.complex,
} | {u.value: u for u in Urgency}


def _text(limit: int) -> Any:
    return Field(default=None, max_length=limit)


class CtiPost(BaseModel):
    """The declared fields of a CTI post (every event), bounded. Longer values than the appeal
    schema keeps (an address over 500 characters) are cut, not refused: an agent's work order is
    never lost over a field's length; only what no CTI sends is refused."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event: str | None = _text(40)
    callId: str | None = _text(128)
    from_: str | None = Field(default=None, max_length=200, alias="from")
    to: str | None = _text(200)
    direction: str | None = _text(40)
    user: str | None = _text(200)
    cause: str | None = _text(200)
    callerName: str | None = _text(1000)
    content: str | None = _text(MAX_FIELD)
    address: str | None = _text(5000)
    category: str | None = _text(2000)
    appealType: str | None = _text(200)
    urgency: str | None = _text(200)
    transcript: str | None = _text(MAX_FIELD * 2)
    recordingUrl: str | None = _text(2000)


class CtiQuery(BaseModel):
    """The declared query of ``POST /events``: the token, for a CTI that cannot set a header."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    token: str = Field(
        default="", max_length=256, description="The channel's token, when not sent as Authorization: Bearer."
    )


def parse_fields(body: bytes, content_type: str) -> dict[str, str]:
    """A JSON object or a form -> its fields as strings (nested values rejected), checked against
    :class:`CtiPost`."""
    if content_type == "application/x-www-form-urlencoded":
        form = load_form(body)
        validated(CtiPost, form)
        return form
    data = load_object(body)
    fields: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            raise BadRequest(f"{key} must be a string or a number", field=key)
        fields[key] = str(value).lower() if isinstance(value, bool) else str(value)
    validated(CtiPost, fields)
    return fields


def _required(fields: Mapping[str, str], name: str, limit: int = 200) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise BadRequest(f"{name} is required", field=name)
    if len(value) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters", field=name)
    return value


def event_of(fields: Mapping[str, str]) -> str:
    event = _required(fields, "event", 40)
    if event not in CALL_EVENTS | APPEAL_EVENTS:
        allowed = ", ".join(sorted(CALL_EVENTS | APPEAL_EVENTS))
        raise BadRequest(f"unknown event {event!r}; expected one of {allowed}", field="event")
    return event


@dataclass(frozen=True)
class CallEvent:
    event: str
    call_id: str
    caller: str
    callee: str
    direction: str
    user: str
    cause: str


def decode_call_event(fields: Mapping[str, str]) -> CallEvent:
    event = event_of(fields)
    if event not in CALL_EVENTS:
        raise BadRequest(f"{event} is not a call event", field="event")
    direction = fields.get("direction", "in").strip().lower() or "in"
    if direction in {"inbound", "incoming", "呼入"}:
        direction = "in"
    elif direction in {"outbound", "outgoing", "呼出"}:
        direction = "out"
    if direction not in {"in", "out"}:
        raise BadRequest("direction is in or out", field="direction")
    return CallEvent(
        event=event,
        call_id=_required(fields, "callId", 128),
        caller=fields.get("from", "").strip()[:32],
        callee=fields.get("to", "").strip()[:32],
        direction=direction,
        user=fields.get("user", "").strip()[:64],
        cause=fields.get("cause", "").strip()[:64],
    )


@dataclass(frozen=True)
class CallRecord:
    """What is known of one call from its events (times as epoch seconds)."""

    call_id: str
    caller: str = ""
    callee: str = ""
    direction: str = "in"
    user: str = ""
    started: float | None = None
    answered: float | None = None
    ended: float | None = None
    cause: str = ""


def apply_event(record: CallRecord, event: CallEvent, at: float) -> CallRecord:
    """The call record after ``event`` (retried events change nothing: first times are kept)."""
    update: dict[str, Any] = {
        name: value
        for name, value in (
            ("caller", event.caller),
            ("callee", event.callee),
            ("user", event.user),
            ("cause", event.cause),
        )
        if value and not getattr(record, name)
    }
    if event.event == "newCall":
        update["direction"] = event.direction
        update["started"] = record.started if record.started is not None else at
    elif event.event == "answer" and record.answered is None:
        update["answered"] = at
    elif event.event == "hangup" and record.ended is None:
        update["ended"] = at
    return replace(record, **update)


def is_abandoned(record: CallRecord) -> bool:
    """An incoming call that rang (newCall) and ended without being answered."""
    return (
        record.direction == "in"
        and record.started is not None
        and record.answered is None
        and record.ended is not None
        and bool(record.caller)
    )


@dataclass(frozen=True)
class Callback:
    """One caller to call back: their latest abandoned call and how many times they tried."""

    caller: str
    call_id: str
    last_tried: float
    attempts: int


def callback_list(records: Iterable[CallRecord]) -> list[Callback]:
    """Callers whose latest incoming call was abandoned, oldest first (the next to call back first).
    A caller whose later call was answered needs no call-back."""
    latest: dict[str, CallRecord] = {}
    attempts: dict[str, int] = {}
    for record in records:
        if record.direction != "in" or not record.caller or record.ended is None:
            continue
        key = normalize_phone(record.caller)
        if is_abandoned(record):
            attempts[key] = attempts.get(key, 0) + 1
        current = latest.get(key)
        if current is None or (record.ended or 0) >= (current.ended or 0):
            latest[key] = record
    due = [
        Callback(r.caller, r.call_id, r.ended or 0.0, attempts.get(k, 1))
        for k, r in latest.items()
        if is_abandoned(r)
    ]
    return sorted(due, key=lambda c: c.last_tried)


def _citizen(fields: Mapping[str, str]) -> Citizen:
    phone = normalize_phone(_required(fields, "from", 32))
    name = fields.get("callerName", "").strip()[:100] or None
    try:
        return Citizen(name=name, phone=phone, identity=ChannelIdentity(kind=IdentityKind.phone, value=phone))
    except ValidationError as e:
        raise problem(e, "citizen.") from None


HINT_LABELS = {"appealType": "诉求类型", "urgency": "紧急程度", "category": "分类"}


def _choice(fields: Mapping[str, str], name: str, table: Mapping[str, Any], notes: list[str]) -> Any:
    """A hint looked up in ``table``; one we do not know is kept in ``notes`` and gives None (the
    default), never a refusal."""
    value = fields.get(name, "").strip()
    if not value:
        return None
    if value not in table:
        notes.append(hint_note(HINT_LABELS[name], value))
        return None
    return table[value]


def _draft(**values: Any) -> AppealDraft:
    try:
        return AppealDraft(**values)
    except ValidationError as e:
        raise problem(e) from None


def decode_work_order(fields: Mapping[str, str]) -> AppealDraft:
    """The agent's work order -> an appeal draft. The category hint becomes the subject (the
    router weighs subject words more); the schema has no separate field for it. An appeal type or
    urgency we do not know is kept as a note in the content; the appeal takes the default."""
    call_id = _required(fields, "callId", 128)
    address = fields.get("address", "").strip()[:500] or None
    notes: list[str] = []
    appeal_type = _choice(fields, "appealType", APPEAL_TYPES, notes)
    urgency = _choice(fields, "urgency", URGENCIES, notes)
    return _draft(
        external_id=f"call:{call_id}",
        citizen=_citizen(fields),
        subject=fields.get("category", "").strip()[:200] or None,
        content=with_notes(_required(fields, "content", MAX_FIELD), notes),
        appeal_type=appeal_type,
        urgency=urgency,
        location=Location(address=address),
    )


def decode_voicemail(fields: Mapping[str, str]) -> AppealDraft:
    call_id = _required(fields, "callId", 128)
    transcript = fields.get("transcript", "").strip()[:MAX_FIELD]
    url = fields.get("recordingUrl", "").strip()
    if url and not url.startswith(("https://", "http://")):
        raise BadRequest("recordingUrl must be an http(s) URL", field="recordingUrl")
    if not transcript and not url:
        raise BadRequest("a voicemail needs a transcript or a recordingUrl", field="transcript")
    attachment = Attachment(kind=AttachmentKind.audio, url=url[:2000] or None, transcript=transcript or None)
    return _draft(
        external_id=f"voicemail:{call_id}",
        citizen=_citizen(fields),
        content=transcript or NO_TRANSCRIPT,
        attachments=(attachment,),
    )


def record_from_hash(call_id: str, data: Mapping[str, str]) -> CallRecord:
    def time(name: str) -> float | None:
        value = data.get(name)
        return float(value) if value else None

    return CallRecord(
        call_id=call_id,
        caller=data.get("caller", ""),
        callee=data.get("callee", ""),
        direction=data.get("direction", "in"),
        user=data.get("user", ""),
        started=time("started"),
        answered=time("answered"),
        ended=time("ended"),
        cause=data.get("cause", ""),
    )


def record_to_hash(record: CallRecord) -> dict[str, str]:
    values = {
        "caller": record.caller,
        "callee": record.callee,
        "direction": record.direction,
        "user": record.user,
        "started": "" if record.started is None else repr(record.started),
        "answered": "" if record.answered is None else repr(record.answered),
        "ended": "" if record.ended is None else repr(record.ended),
        "cause": record.cause,
    }
    return values


def day_of(at: datetime) -> str:
    return at.strftime("%Y%m%d")
