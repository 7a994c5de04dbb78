"""``hotline-gateway demo-unit``: a reference receiver for member units.

Listens on ``/units/{unit_id}`` (the sample's webhook layout), verifies each delivery's Standard
Webhooks signature with that unit's secret, drops repeats of a ``webhook-id`` it has seen, prints
the appeal, and (with ``--sign``) signs for it through the unit API with the unit's token. Run it
beside the gateway with the same ``HOTLINE_DATA_DIR`` / ``REDIS_URL`` so it can read the credentials.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from gateway.credentials import CredentialStore

SEEN: web.AppKey[set[str]] = web.AppKey("seen", set)


def make_app(credentials: CredentialStore, gateway_url: str | None) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[SEEN] = set()

    async def receive(request: web.Request) -> web.Response:
        unit_id = request.match_info["unit_id"]
        body = await request.read()
        creds = await credentials.get(unit_id)
        try:
            Webhook(creds.webhook_secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            print(f"[{unit_id}] REFUSED a delivery with a bad signature", flush=True)
            return web.json_response({"error": "bad signature"}, status=401)
        delivery_id = request.headers["webhook-id"]
        if delivery_id in app[SEEN]:
            return web.Response(status=204)  # a retry of one we already have
        app[SEEN].add(delivery_id)
        event: dict[str, Any] = json.loads(body)
        appeal, assignment = event["data"]["appeal"], event["data"]["assignment"]
        print(
            f"[{unit_id}] {event['subject']} {event['type']}\n"
            f"    {appeal['subject']}\n    category: {'/'.join(assignment['category'])}\n"
            f"    why: {assignment['explanation']}",
            flush=True,
        )
        if gateway_url:
            url = f"{gateway_url}/api/v1/units/{unit_id}/appeals/{event['subject']}/events"
            headers = {"Authorization": f"Bearer {creds.api_token}"}
            async with (
                aiohttp.ClientSession() as session,
                session.post(url, json={"type": "signed"}, headers=headers) as response,
            ):
                print(f"    signed: HTTP {response.status}", flush=True)
        return web.Response(status=204)

    app.router.add_post("/units/{unit_id}", receive)
    return app
