from __future__ import annotations

from tests.conformance.kit import AdapterConformance, Req
from tests.conftest import PORTAL_KEY

PATH = "/open311/v2/requests.json"


class TestPortalConformance(AdapterConformance):
    kind = "portal"
    channel_id = "portal-bengbu"

    def valid_request(self) -> Req:
        return Req(
            "POST",
            PATH,
            data={
                "api_key": PORTAL_KEY,
                "service_code": "complaint",
                "description": "小区门口路灯坏了一个月没人修",
            },
        )

    def signed(self, body: bytes) -> Req:
        return Req("POST", PATH, {"X-Api-Key": PORTAL_KEY, "Content-Type": "application/json"}, body)

    def forged_request(self) -> Req:
        return Req(
            "POST",
            PATH,
            data={"api_key": "forged", "service_code": "complaint", "description": "小区门口路灯坏了"},
        )

    def malformed_requests(self) -> list[Req]:
        key = {"api_key": PORTAL_KEY}
        return [
            Req("POST", PATH, data=key | {"service_code": "complaint"}),  # no description
            Req("POST", PATH, data=key | {"service_code": "nonsense", "description": "x"}),
            Req(
                "POST",
                PATH,
                data=key | {"service_code": "complaint", "description": "x", "lat": "abc", "long": "1"},
            ),
            Req("POST", PATH, data=key | {"service_code": "complaint", "description": "x", "lat": "1"}),
            Req(
                "POST",
                PATH,
                headers={"Content-Type": "application/json", "X-Api-Key": PORTAL_KEY},
                data=b"{not json",
            ),
            Req(
                "POST",
                PATH,
                headers={"Content-Type": "application/json", "X-Api-Key": PORTAL_KEY},
                data=b"[1, 2]",
            ),
            Req(
                "POST",
                PATH,
                headers={"Content-Type": "text/xml", "X-Api-Key": PORTAL_KEY},
                data=b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
            ),
            Req("POST", PATH, data=key | {"service_code": "complaint", "description": "很长" * 3000}),
            Req(
                "POST",
                PATH,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                data=b"api_key=" + PORTAL_KEY.encode() + b"&description=%FF%FE",
            ),
        ]
