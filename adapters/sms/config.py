"""Settings of one ``sms`` channel: which provider pushes the citizens' SMS (uplink), how the push is
authenticated, and the provider template API our acknowledgements and answers go out through."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, SecretStr


class AliyunSendSettings(BaseModel):
    """Aliyun SMS ``SendSms`` (RPC API 2017-05-25, HMAC-SHA1 signature v1.0). Free text cannot be sent
    in mainland China: every SMS is an approved template code plus its parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field(
        default="https://dysmsapi.aliyuncs.com/",
        description="SendSms endpoint URL (tests point it at a local stand-in).",
    )
    region_id: str = Field(default="cn-hangzhou", description="Aliyun RegionId parameter.")
    access_key_id: str = Field(description="AccessKey ID of the RAM user allowed to send SMS.")
    access_key_secret: SecretStr = Field(
        description="AccessKey secret. Give it by reference: ${SMS_ACCESS_KEY_SECRET}.",
        examples=["${SMS_ACCESS_KEY_SECRET}"],
    )
    sign_name: str = Field(description="Approved signature (签名), e.g. 蚌埠12345.")
    ack_template: str = Field(
        description="Template code of the acknowledgement, e.g. SMS_480010001: "
        "'您的诉求已受理，编号${no}，请留意后续答复。'",
        examples=["SMS_480010001"],
    )
    answer_template: str | None = Field(
        default=None,
        description="Template code of the answer notice, e.g. '您的诉求${no}已办理：${text}'. "
        "Without it the channel cannot answer.",
    )
    number_param: str = Field(default="no", description="Template variable holding the appeal number.")
    text_param: str | None = Field(
        default="text",
        description="Template variable of the answer template holding (the start of) the answer text; "
        "null when the template has none.",
    )
    text_max: int = Field(
        default=35, ge=1, le=500, description="Longest text put in one template variable (Aliyun: 35)."
    )
    timeout_seconds: float = Field(default=5.0, gt=0, description="Total timeout of one SendSms call.")


class SmsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["aliyun", "tencent", "form"] = Field(
        default="aliyun",
        description="Who pushes the uplink SMS: aliyun (SmsUp HTTP batch push, a JSON array), tencent "
        "(Tencent Cloud SMS reply callback, one JSON object) or form (a generic gateway posting "
        "mobile, content, msgid, time as a form).",
    )
    token: SecretStr = Field(
        description="Shared secret the provider appends to the callback URL as ?token=...; providers "
        "sign nothing, so this is the credential. Give it by reference: ${SMS_CALLBACK_TOKEN}.",
        examples=["${SMS_CALLBACK_TOKEN}"],
    )
    allow_from: tuple[IPvAnyNetwork, ...] = Field(
        default=(),
        description="Client addresses (networks) the provider pushes from; empty allows any.",
        examples=[["100.100.0.0/16"]],
    )
    hold_seconds: float = Field(
        default=120.0,
        ge=0,
        description="SMS from one phone within this many seconds of each other become one appeal.",
    )
    send: AliyunSendSettings | None = Field(
        default=None,
        description="The template API acknowledgements and answers go out through; none: no SMS is sent.",
    )
