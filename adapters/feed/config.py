"""Settings of one ``feed`` channel: an upstream platform (provincial 12345, People's Daily Online,
national platforms) that hands the city work orders. Everything that differs between platforms is
here, so a new platform is connected by configuration alone (see docs/feeds.md).

Paths into the platform's JSON are dotted: ``data.orders``, ``citizen.phone``, ``items.0.no``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from normalizer import AppealType


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldPaths(_Strict):
    """Where each appeal field is in one of the platform's work orders (null: the platform has none)."""

    number: str = Field(default="order_no", description="The upstream work order number (dedup key).")
    title: str | None = Field(default="title", description="The title; the subject of the appeal.")
    content: str = Field(default="content", description="The citizen's text.")
    category: str | None = Field(default="category", description="The platform's category of the order.")
    phone: str | None = Field(default="citizen.phone", description="The citizen's phone number.")
    name: str | None = Field(default="citizen.name", description="The citizen's name.")
    address: str | None = Field(default="address", description="Where it happened.")
    deadline: str | None = Field(
        default="deadline",
        description="The platform's deadline: ISO 8601, 'YYYY-MM-DD HH:MM:SS' (Beijing time) or epoch "
        "seconds/milliseconds.",
    )
    supervised: str | None = Field(
        default="supervised",
        description="Marks a supervised (督办) order: true, 1, 'true', 'yes', 'Y' or '是' count as marked.",
    )
    created_at: str | None = Field(default="created_at", description="When the citizen wrote it.")


class PullSettings(_Strict):
    """``GET <base_url><path>?<cursor_param>=<cursor>&<limit_param>=<page_size>``, signed."""

    path: str = Field(default="/orders", description="Path of the list of work orders.")
    cursor_param: str = Field(default="cursor", description="Query parameter carrying the cursor.")
    limit_param: str = Field(default="limit", description="Query parameter carrying the page size.")
    page_size: int = Field(default=50, ge=1, le=1000)
    items_path: str = Field(default="orders", description="Path of the list of orders in a page.")
    next_cursor_path: str = Field(default="next_cursor", description="Path of the cursor after this page.")
    has_more_path: str | None = Field(
        default="has_more", description="Path of 'more pages follow'; null: a full page means more."
    )
    initial_cursor: str = Field(default="", description="Cursor of the very first pull.")
    interval_seconds: float = Field(default=30.0, gt=0, description="Wait between two polls.")
    max_pages: int = Field(default=20, ge=1, description="Pages fetched in one poll at most.")
    backoff_initial_seconds: float = Field(default=5.0, gt=0, description="First wait after a failure.")
    backoff_max_seconds: float = Field(default=300.0, gt=0, description="Longest wait after failures.")
    down_after_failures: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="Consecutive failed pulls after which the channel shows down (before: degraded).",
    )


class PushSettings(_Strict):
    """The platform posts one work order to ``POST /channels/<channel id>``, signed."""

    enabled: bool = True
    replay_window_seconds: int = Field(
        default=300, ge=10, le=3600, description="A push whose timestamp is further off is refused."
    )


DEFAULT_ACTIONS = {
    "signed": "sign",
    "returned": "return",
    "extension_requested": "extension_request",
    "extension_decided": "extension_result",
    "replied": "reply",
    "filed": "close",
}
DEFAULT_WRITEBACK_FIELDS = {
    "feedback_id": "id",
    "order_no": "number",
    "action": "action",
    "time": "at",
    "appeal_no": "appeal_no",
    "content": "text",
    "days": "days",
    "approved": "approved",
    "unit": "unit",
}


class WritebackSettings(_Strict):
    """Reporting the city's steps back: ``POST <base_url><path>`` with a JSON body built from ``fields``."""

    enabled: bool = True
    path: str = Field(
        default="/orders/{number}/feedback", description="Path; {number} is the upstream order number."
    )
    actions: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ACTIONS),
        description="Our event type -> the platform's action name; events not listed are not reported.",
    )
    fields: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_WRITEBACK_FIELDS),
        description="Path in the platform's body -> our value: id (idempotency key), number, action, at, "
        "appeal_no, text (reply, reason or note), days, approved, unit, type.",
    )
    success_path: str | None = Field(
        default="code", description="Path of the platform's result code in its answer; null: any 2xx."
    )
    success_value: str = Field(default="0", description="The result code meaning accepted.")
    backoff_initial_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=300.0, gt=0)
    alert_after_attempts: int = Field(
        default=5, ge=1, description="Failed attempts after which operators are alerted."
    )


class FeedConfig(_Strict):
    base_url: str = Field(
        description="The platform's API base URL.",
        examples=["${GOVERNOR_HOTLINE_URL:-http://127.0.0.1:8090}"],
    )
    app_key: str = Field(min_length=1, description="Our app key on the platform (sent as X-App-Key).")
    app_secret: SecretStr = Field(
        description="Shared HMAC-SHA256 secret. Give it by reference: ${GOVERNOR_HOTLINE_APP_SECRET}.",
        examples=["${GOVERNOR_HOTLINE_APP_SECRET}"],
    )
    platform: str | None = Field(
        default=None, description="Platform id put in the appeal's upstream.platform; default the channel id."
    )
    timeout_seconds: float = Field(default=10.0, gt=0, description="Total timeout of one platform call.")
    pull: PullSettings | None = Field(default=None, description="Pull mode; null: the platform only pushes.")
    push: PushSettings = PushSettings()
    fields: FieldPaths = FieldPaths()
    category_types: dict[str, AppealType] = Field(
        default_factory=dict,
        description="The platform's category -> appeal type, e.g. {投诉: complaint, 咨询: consultation}.",
    )
    writeback: WritebackSettings = WritebackSettings()
