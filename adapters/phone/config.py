"""Settings of one ``phone`` channel: a call centre (CTI) posting call events, agents' work orders and
voicemail transcripts to the gateway."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class PhoneConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr = Field(
        description="API token the CTI system sends as 'Authorization: Bearer <token>' or ?token=. "
        "Give it by reference: ${PHONE_API_TOKEN}.",
        examples=["${PHONE_API_TOKEN}"],
    )
    call_ttl_days: int = Field(
        default=7, ge=1, le=90, description="How long one call's record (events, abandonment) is kept."
    )
    stats_ttl_days: int = Field(
        default=400, ge=1, description="How long the daily call statistics of the channel are kept."
    )
    callbacks_kept: int = Field(
        default=2000, ge=10, description="Most abandoned calls kept on the call-back list (oldest drop)."
    )
