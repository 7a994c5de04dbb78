"""Settings of one ``weibo`` channel (a government Weibo account's fans service, 粉丝服务平台)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class WeiboConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    app_secret: SecretStr = Field(
        description="App Secret of the application bound to the account; Weibo signs every push "
        "with it. Give it by reference: ${WEIBO_APP_SECRET}.",
        examples=["${WEIBO_APP_SECRET}"],
    )
    hold_seconds: float = Field(
        default=180.0,
        ge=0,
        description="A citizen's private messages within this many seconds of each other become "
        "one appeal (0: every message is its own appeal).",
    )
    timestamp_tolerance_seconds: int = Field(
        default=300,
        ge=0,
        description="Refuse pushes whose signed timestamp is further than this from our clock "
        "(replays); 0 turns the check off.",
    )
    welcome: str = Field(
        default="欢迎关注蚌埠12345！发送私信即可反映诉求，我们会尽快受理。",
        description="Answer to a new follower (no appeal is made).",
        max_length=300,
    )
    accepted_reply: str = Field(
        default="您的诉求已受理，编号{appeal_no}。几分钟内补充的私信会并入同一诉求。",
        description="Passive reply to a message that starts an appeal; {appeal_no} is filled in.",
        max_length=300,
    )
    merged_reply: str = Field(
        default="已补充到您的诉求（编号{appeal_no}）。",
        description="Passive reply to a message merged into the citizen's open appeal.",
        max_length=300,
    )
