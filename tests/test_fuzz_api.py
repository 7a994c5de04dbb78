"""A short run of the gateway surfaces' fuzz target (``make fuzz`` runs 100,000 per surface): no 5xx,
every refusal a JSON error."""

from __future__ import annotations

import pytest

from bench.fuzz_api import SURFACES, Target, fuzz


@pytest.mark.slow
def test_a_short_fuzz_run_finds_no_server_error(redis_url: str) -> None:
    target = Target(redis_url)
    target.start()
    try:
        for surface in SURFACES:
            findings = fuzz(target, surface, examples=150, at_seed=20261202)
            assert findings.failures == [], surface
            assert sum(findings.statuses.values()) >= 100, surface
            if surface in ("operators", "units", "citizens"):
                assert findings.statuses[400] > 0 and findings.statuses[200] + findings.statuses[404] > 0
    finally:
        target.close()
