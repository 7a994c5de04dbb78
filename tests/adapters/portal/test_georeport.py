"""Open311 GeoReport v2 as its spec gives it: our answers have the shape of the spec's sample
responses (``georeport-v2-examples.json``), in JSON and XML; the spec's status codes; the list with
its filters; status reads that show nothing personal and are rate limited."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import redis.asyncio as aioredis

from adapters.portal import PortalConfig
from adapters.portal.open311 import to_xml
from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys
from tests.conftest import PORTAL_KEY, Gateway, UnitReceiver, start_gateway

SPEC: dict[str, Any] = json.loads((Path(__file__).parent / "georeport-v2-examples.json").read_text("utf-8"))
KEY = {"api_key": PORTAL_KEY}


def shape(element: ElementTree.Element) -> Any:
    """An XML answer reduced to its element names, in order, recursively (values dropped)."""
    return (element.tag, [shape(child) for child in element])


def xml(text: str) -> ElementTree.Element:
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>") or text.startswith(
        '<?xml version="1.0" encoding="utf-8"?>'
    ), text[:60]
    return ElementTree.fromstring(text.encode())


async def get(gateway: Gateway, path: str, **params: str) -> Any:
    return await gateway.client.get(f"/open311/v2/{path}", params=params)


async def test_services_in_json_and_xml_have_the_spec_fields(gateway: Gateway) -> None:
    as_json = await (await get(gateway, "services.json")).json()
    assert all(list(s) == list(SPEC["services.json"][0]) for s in as_json)
    response = await get(gateway, "services.xml")
    assert response.status == 200 and response.content_type == "text/xml" and response.charset == "utf-8"
    ours = xml(await response.text())
    (example_service,) = shape(xml(SPEC["services.xml"]))[1]
    assert ours.tag == "services" and len(ours) == len(as_json)
    assert all(shape(service) == example_service for service in ours)


async def test_post_get_and_list_answer_the_spec_shapes_in_both_formats(gateway: Gateway) -> None:
    created = await gateway.client.post(
        "/open311/v2/requests.xml",
        data=KEY | {"service_code": "complaint", "description": "胜利路路灯坏了", "phone": "13912341234"},
    )
    assert created.status == 201
    answer = xml(await created.text())
    assert shape(answer) == shape(xml(SPEC["post requests.xml"]))
    appeal_no = answer.findtext("request/service_request_id")
    assert appeal_no
    await gateway.wait_state(appeal_no, "dispatched")
    (one,) = await (await get(gateway, f"requests/{appeal_no}.json", **KEY)).json()
    assert list(one) == list(SPEC["requests.json"][0])
    assert one["expected_datetime"] and one["expected_datetime"] > one["requested_datetime"]
    single = xml(await (await get(gateway, f"requests/{appeal_no}.xml", **KEY)).text())
    assert shape(single) == shape(xml(SPEC["requests.xml"]))
    await gateway.wait_recorded(appeal_no)  # lists are read from the record
    listed = await (await get(gateway, "requests.json", **KEY)).json()
    assert [r["service_request_id"] for r in listed] == [appeal_no]
    assert shape(xml(await (await get(gateway, "requests.xml", **KEY)).text())) == shape(
        xml(SPEC["requests.xml"])
    )


async def test_list_filters_by_id_code_status_and_dates(gateway: Gateway) -> None:
    complaint = await gateway.post_appeal(description="菜市场门口占道经营")
    suggestion = await gateway.post_appeal(service_code="suggestion", description="建议增设公交线路")

    async def ids(**filters: str) -> list[str]:
        response = await get(gateway, "requests.json", **KEY, **filters)
        assert response.status == 200, await response.text()
        return [r["service_request_id"] for r in await response.json()]

    await gateway.wait_recorded(complaint, suggestion)
    assert await ids() == [suggestion, complaint]  # newest first
    assert await ids(service_code="suggestion") == [suggestion]
    assert await ids(service_code="complaint,suggestion") == [suggestion, complaint]
    assert await ids(service_request_id=f"{complaint},BB-20000101-000001") == [complaint]
    assert await ids(status="closed") == []
    assert sorted(await ids(status="open,closed")) == sorted([complaint, suggestion])
    assert await ids(start_date="2010-01-01T00:00:00Z", end_date="2010-02-01T00:00:00+08:00") == []
    for bad in (
        {"start_date": "yesterday"},
        {"start_date": "2026-01-01T00:00:00"},  # the spec's w3 format carries an offset
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-01T00:00:00Z"},  # over 90 days
        {"status": "pending"},
        {"page": "2"},
    ):
        response = await get(gateway, "requests.json", **KEY, **bad)
        assert response.status == 400, bad
        assert (await response.json())[0]["code"] == 400


async def test_the_spec_status_codes(gateway: Gateway) -> None:
    unknown = await gateway.client.post(
        "/open311/v2/requests.json", data=KEY | {"service_code": "graffiti", "description": "x"}
    )
    assert unknown.status == 404 and (await unknown.json())[0]["code"] == 404
    assert (await get(gateway, "requests.json", **KEY, service_code="graffiti")).status == 404
    assert (await get(gateway, "services/graffiti.json")).status == 404
    assert (await get(gateway, "services/complaint.json")).status == 200
    assert (await get(gateway, "requests/BB-20000101-000001.json", **KEY)).status == 404
    refused = await gateway.client.post(
        "/open311/v2/requests.xml", data={"api_key": "wrong", "service_code": "complaint"}
    )
    assert refused.status == 401
    assert shape(xml(await refused.text())) == shape(xml(SPEC["errors.xml"]))
    wrong_place = await gateway.client.post(
        "/open311/v2/requests.json",
        data=KEY | {"service_code": "complaint", "description": "x", "jurisdiction_id": "elsewhere.gov"},
    )
    assert wrong_place.status == 404


async def test_discovery_in_json_and_xml(gateway: Gateway) -> None:
    for path in ("/open311/discovery.json", "/open311/v2/discovery.json"):
        doc = await (await gateway.client.get(path)).json()
        assert list(doc) == list(SPEC["discovery.json"])
        (endpoint,) = doc["endpoints"]
        assert list(endpoint) == list(SPEC["discovery.json"]["endpoints"][0])
        assert endpoint["url"].endswith("/open311/v2") and "text/xml" in endpoint["formats"]
    response = await gateway.client.get("/open311/discovery.xml")
    assert shape(xml(await response.text())) == shape(xml(SPEC["discovery.xml"]))


async def test_status_shows_nothing_personal_by_default(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(
        description="我是王伟，电话13912341234，身份证340302199001011234，胜利路路灯坏了",
        address_string="龙子湖区胜利路18号3栋",
        lat="32.9166",
        long="117.3893",
        media_url="https://img.example.cn/1.jpg",
    )
    for fmt in ("json", "xml"):
        text = await (await get(gateway, f"requests/{appeal_no}.{fmt}", **KEY)).text()
        for personal in ("13912341234", "340302199001011234", "王伟", "胜利路", "32.9166", "img.example"):
            assert personal not in text, (fmt, personal)
    await gateway.wait_recorded(appeal_no)
    (listed,) = await (await get(gateway, "requests.json", **KEY)).json()
    assert listed["description"] is None and listed["address"] is None and listed["lat"] is None


async def _gateway_with(config: Config, update: dict[str, Any], *args: Any) -> Gateway:
    channels = tuple(
        dataclasses.replace(c, settings=c.settings.model_copy(update=update))
        if isinstance(c.settings, PortalConfig)
        else c
        for c in config.channels
    )
    return await start_gateway(dataclasses.replace(config, channels=channels), *args)


async def test_an_opted_in_description_shows_with_numbers_masked_and_never_for_anonymous_appeals(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    gateway = await _gateway_with(
        config, {"public_fields": frozenset({"description"})}, redis, keys, registry, receiver
    )
    try:
        named = await gateway.post_appeal(description="电话13912341234，身份证34030219900101123X，路灯坏了")
        anonymous = await gateway.post_appeal(description="井盖丢了", **{"attribute[anonymous]": "true"})
        (view,) = await (await get(gateway, f"requests/{named}.json", **KEY)).json()
        assert view["description"] == "电话139****1234，身份证340302********123X，路灯坏了"
        assert view["address"] is None
        (hidden,) = await (await get(gateway, f"requests/{anonymous}.json", **KEY)).json()
        assert hidden["description"] is None
    finally:
        await gateway.client.close()


async def test_status_reads_are_rate_limited_per_address(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    limit = {"reads_per_minute_per_address": 5}
    gateway = await _gateway_with(config, limit, redis, keys, registry, receiver)
    try:
        statuses = [
            (await get(gateway, f"requests/BB-20261201-{n:06d}.json", **KEY)).status for n in range(1, 8)
        ]
        assert statuses[:5] == [404] * 5  # sequential numbers, nothing found
        assert statuses[5:] == [429, 429]
        limited = await get(gateway, "requests.json", **KEY)
        assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    finally:
        await gateway.client.close()


async def test_status_reads_are_rate_limited_per_client_key(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    gateway = await _gateway_with(config, {"reads_per_minute_per_key": 3}, redis, keys, registry, receiver)
    try:
        statuses = [(await get(gateway, "requests.json", **KEY)).status for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert (await get(gateway, "services.json")).status == 200  # only status reads are counted
    finally:
        await gateway.client.close()


def test_xml_answers_stay_well_formed_whatever_the_text_holds() -> None:
    notes = "答复：\x01\x0b<&>]]>\ud800"
    answer = xml(to_xml("service_requests", [{"status_notes": notes, "zipcode": None}]).decode())
    assert answer.findtext("request/status_notes") == "答复：\ufffd\ufffd<&>]]>\ufffd"
    assert answer.findtext("request/zipcode") == ""
