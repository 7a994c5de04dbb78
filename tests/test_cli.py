"""The operator's CLI beside the store: units, credentials (stable, distinct, rotatable), route."""

from __future__ import annotations

import json

import pytest

from gateway.cli import main
from gateway.credentials import CredentialStore
from gateway.store import Keys


def test_units_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "list", "--json"]) == 0
    units = json.loads(capsys.readouterr().out)
    assert len(units) == 90
    assert {"id", "name", "level", "parent"} <= set(units[0])
    assert sum(1 for u in units if u["level"] == 1) == 1


@pytest.fixture
def store_env(monkeypatch: pytest.MonkeyPatch, redis_url: str, keys: Keys) -> Keys:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_REDIS_NAMESPACE", keys.ns)
    return keys


def _credentials(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, str]:
    assert main(["units", "credentials", *args]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_credentials_are_stable_distinct_and_rotatable(
    store_env: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    gas = _credentials(capsys, "gas-supply")
    assert gas["webhook_secret"].startswith("whsec_") and gas["api_token"].startswith("hlu_")
    assert _credentials(capsys, "gas-supply") == gas
    water = _credentials(capsys, "water-supply")
    assert water["webhook_secret"] != gas["webhook_secret"] and water["api_token"] != gas["api_token"]
    rotated = _credentials(capsys, "gas-supply", "--rotate")
    assert rotated["webhook_secret"] != gas["webhook_secret"]
    assert _credentials(capsys, "gas-supply") == rotated


async def test_after_rotation_both_secrets_sign_and_both_tokens_work(redis, keys: Keys) -> None:  # type: ignore[no-untyped-def]
    store = CredentialStore(redis, keys)
    old = await store.get("gas-supply")
    new = await store.rotate("gas-supply", now=1000.0, overlap=3600)
    assert new.signing_secrets(1001.0) == [new.webhook_secret, old.webhook_secret]
    assert new.signing_secrets(4601.0) == [new.webhook_secret]
    assert new.token_matches(old.api_token, 1001.0) and not new.token_matches(old.api_token, 4601.0)
    assert new.token_matches(new.api_token, 4601.0)


def test_unknown_unit_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "credentials", "no-such-unit"]) == 2
    assert "no unit" in capsys.readouterr().err


def test_route_explains_for_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "小区燃气泄漏，煤气味很重"]) == 0
    out = capsys.readouterr().out
    assert "gas-supply" in out and "燃气" in out
