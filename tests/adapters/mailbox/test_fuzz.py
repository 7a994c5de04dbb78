"""A short run of the mail fuzz target (``bench/fuzz_mail.py``; ``make fuzz``: 100,000 mails)."""

from __future__ import annotations

from bench.fuzz_mail import fuzz


def test_a_short_mail_fuzz_run_refuses_only_as_the_poller_expects() -> None:
    tally = fuzz(150, at_seed=12345)
    assert tally.crashes == 0, tally.examples
    assert tally.mails == 150
    assert tally.outcomes["appeal"] > 30  # most mails reach the decoder and become appeals
