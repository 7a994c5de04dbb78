"""Settings of one ``wechat`` channel (a WeChat official account, 微信公众号)."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

Mode = Literal["plaintext", "compatible", "safe"]


class WechatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr = Field(
        description="The Token entered on the platform (基本配置 > 服务器配置); it signs every "
        "request. Give it by reference: ${WECHAT_TOKEN}.",
        examples=["${WECHAT_TOKEN}"],
    )
    mode: Mode = Field(
        default="safe",
        description="Message encryption mode chosen on the platform: plaintext (明文模式), "
        "compatible (兼容模式) or safe (安全模式). Safe mode refuses unencrypted posts.",
    )
    encoding_aes_key: SecretStr | None = Field(
        default=None,
        description="EncodingAESKey (43 characters), required in compatible and safe mode: "
        "${WECHAT_AES_KEY}.",
        examples=["${WECHAT_AES_KEY}"],
    )
    app_id: str = Field(
        description="AppID of the official account (开发者ID).", examples=["wx1234567890abcdef"]
    )
    app_secret: SecretStr | None = Field(
        default=None,
        description="AppSecret, needed to answer citizens by customer-service message: "
        "${WECHAT_APP_SECRET}. Without it answers are not delivered (the operator sees why).",
        examples=["${WECHAT_APP_SECRET}"],
    )
    api_base: str = Field(
        default="https://api.weixin.qq.com",
        description="Base URL of WeChat's HTTP API (a regional endpoint or a test stand-in).",
        pattern=r"^https?://",
    )
    api_timeout_seconds: float = Field(default=5.0, gt=0, description="Timeout of one API call.")
    hold_seconds: float = Field(
        default=180.0,
        ge=0,
        description="A citizen's text, photos and location sent within this many seconds of each "
        "other become one appeal (0: every message is its own appeal).",
    )
    location_ttl_seconds: float = Field(
        default=600.0,
        gt=0,
        description="How long a reported location (LOCATION event) is kept for the citizen's next message.",
    )
    service_window_hours: float = Field(
        default=48.0,
        gt=0,
        le=48.0,
        description="Customer-service messages may be sent this long after the citizen's last "
        "message (WeChat allows 48 hours).",
    )
    timestamp_tolerance_seconds: int = Field(
        default=300,
        ge=0,
        description="Refuse requests whose signed timestamp is further than this from our clock "
        "(replays); 0 turns the check off.",
    )
    welcome: str = Field(
        default="欢迎关注蚌埠12345！直接发送文字、语音、图片或位置即可反映诉求，我们会在这里答复您。",
        description="Answer to a new follower (no appeal is made).",
        max_length=600,
    )
    accepted_reply: str = Field(
        default="您的诉求已受理，编号{appeal_no}。几分钟内补充的文字、图片和位置会并入同一诉求；"
        "办理结果将在这里答复您。",
        description="Passive reply to a message that starts an appeal; {appeal_no} is filled in.",
        max_length=600,
    )
    merged_reply: str = Field(
        default="已补充到您的诉求（编号{appeal_no}）。",
        description="Passive reply to a message merged into the citizen's open appeal.",
        max_length=600,
    )

    @model_validator(mode="after")
    def _aes_key_when_encrypted(self) -> WechatConfig:
        if self.mode == "plaintext":
            return self
        if self.encoding_aes_key is None:
            raise ValueError(f"encoding_aes_key is required in {self.mode} mode")
        key = self.encoding_aes_key.get_secret_value()
        try:
            raw = base64.b64decode(key + "=", validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(key) != 43 or len(raw) != 32:
            raise ValueError("encoding_aes_key must be the 43-character EncodingAESKey")
        return self
