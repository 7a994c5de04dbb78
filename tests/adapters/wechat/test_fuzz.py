"""A short run of the fuzz target ``bench/fuzz_wechat.py`` (``make fuzz`` runs 100,000 inputs)."""

from __future__ import annotations

from bench.fuzz import fuzz_briefly
from tests.conftest import Gateway


async def test_a_short_fuzz_run_answers_no_5xx_and_never_crashes(gateway: Gateway) -> None:
    port = gateway.client.server.port
    assert port is not None
    tally = await fuzz_briefly(port, gateway.runtime.config, "wechat")
    assert tally.sent == 150
    assert (tally.server_errors, tally.crashes) == (0, 0), tally.examples
    assert tally.statuses["2xx"] > 0 and tally.statuses["4xx"] > 0  # valid ones got through too
