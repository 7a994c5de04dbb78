"""One error tree for the whole gateway. Each error knows its HTTP status and machine code.

HotlineError                      500 internal
├── ConfigError                   fails start-up; names file, path and problem
├── RequestError                  the caller's fault; answered, never retried by us
│   ├── BadRequest                400 bad_request   malformed body, missing field
│   ├── Unauthorized              401 unauthorized  missing or wrong token, forged signature
│   ├── Forbidden                 403 forbidden     a valid caller acting outside its rights
│   │   └── CsrfRefused           403 csrf          a browser request without its session's CSRF token
│   ├── NotFound                  404 not_found
│   ├── Conflict                  409 conflict      a step out of order (the reason says why)
│   ├── PayloadTooLarge           413 payload_too_large
│   └── UnsupportedMediaType      415 unsupported_media_type
├── TransientError                503 unavailable   try again later (``retry_after`` seconds)
│   ├── StorageUnavailable        Redis cannot be reached: nothing was acknowledged
│   └── RateLimited               429 rate_limited  too many requests from one caller
├── AdapterAuthError              an outside platform refused our credential: park the adapter
└── BadMessage                    a message we cannot use: to dead letters, the adapter runs on
"""

from __future__ import annotations

from typing import Any, ClassVar


class HotlineError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            body["detail"] = self.detail
        return {"error": body}


class ConfigError(HotlineError):
    code = "config"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


class RequestError(HotlineError):
    status = 400
    code = "bad_request"


class BadRequest(RequestError):
    pass


class Unauthorized(RequestError):
    status = 401
    code = "unauthorized"


class Forbidden(RequestError):
    status = 403
    code = "forbidden"


class CsrfRefused(Forbidden):
    code = "csrf"


class NotFound(RequestError):
    status = 404
    code = "not_found"


class Conflict(RequestError):
    status = 409
    code = "conflict"


class PayloadTooLarge(RequestError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(RequestError):
    status = 415
    code = "unsupported_media_type"


class TransientError(HotlineError):
    status = 503
    code = "unavailable"

    def __init__(self, message: str, retry_after: float = 5.0, **detail: Any) -> None:
        super().__init__(message, **detail)
        self.retry_after = retry_after


class StorageUnavailable(TransientError):
    code = "storage_unavailable"


class RateLimited(TransientError):
    status = 429
    code = "rate_limited"


class AdapterAuthError(HotlineError):
    code = "adapter_auth"


class BadMessage(HotlineError):
    status = 422
    code = "bad_message"
