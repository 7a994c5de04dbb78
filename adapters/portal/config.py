"""Settings of one ``portal`` channel (Open311 GeoReport v2)."""

from __future__ import annotations

from typing import Literal

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
    public_fields: frozenset[Literal["description", "address", "lat", "long", "media_url"]] = Field(
        default=frozenset(),
        description="Fields of a request a status read may show besides state, service, dates, agency "
        "and status notes. Empty by default: the service request id alone shows nothing personal. "
        "Phone and ID numbers in an opted-in description are masked; anonymous appeals never show them.",
        examples=[["description"]],
    )
    reads_per_minute_per_key: int = Field(
        default=600,
        ge=1,
        le=100_000,
        description="Status reads (single and list) a client key may make a minute.",
    )
    reads_per_minute_per_address: int = Field(
        default=60, ge=1, le=100_000, description="Status reads one client address may make a minute."
    )
    contact: str = Field(
        default="蚌埠12345政务服务便民热线 · 12345", max_length=300, description="Discovery's contact text."
    )
