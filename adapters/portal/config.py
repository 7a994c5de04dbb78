"""Settings of one ``portal`` channel (Open311 GeoReport v2)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class PortalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr = Field(
        description="Open311 api_key of this channel's client; it tells which channel a request "
        "came by. Give it by reference: ${PORTAL_API_KEY}.",
        examples=["${PORTAL_API_KEY}"],
    )
    jurisdiction_id: str = Field(
        default="bengbu.gov.cn", description="Open311 jurisdiction_id accepted (and echoed)."
    )
