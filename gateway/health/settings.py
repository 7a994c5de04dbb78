"""The optional ``alerts`` section of ``gateway.yaml``: where operator alerts are posted, how often
channel health is judged. Declared here, used by :mod:`gateway.config`."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook: AnyHttpUrl | None = Field(
        default=None,
        description="Operator webhook every alert and recovery notice is POSTed to (JSON); none: log only.",
        examples=["${ALERT_WEBHOOK_URL}"],
    )
    secret: SecretStr | None = Field(
        default=None,
        description="Standard Webhooks secret (whsec_...) the posts are signed with; give it by reference.",
        examples=["${ALERT_WEBHOOK_SECRET}"],
    )
    evaluate_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Channel status is judged (and alerts raised) this often."
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=60, description="Timeout of one webhook post.")
    attempts: int = Field(default=3, ge=1, le=10, description="Tries of one post before it is only logged.")
    poller_lag_seconds: float = Field(
        default=900.0,
        gt=0,
        description="A poller silent this long (mailbox, feeds) makes its channel degraded.",
    )
