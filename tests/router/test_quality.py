"""The in-sample floor on the public labelled messages (the shipped keywords and learned layer saw
them: a regression fails CI, but generalization is measured in test_generalization.py)."""

from __future__ import annotations

import json

import pytest

from router import RouterConfig
from router.evaluate import evaluate
from router.suggest import Example
from tests.router.conftest import DATA_DIR

LABELLED = DATA_DIR / "messages-labelled.jsonl"


@pytest.mark.skipif(not LABELLED.exists(), reason="shared/data/messages-labelled.jsonl is not present")
def test_quality_floor(sample: RouterConfig) -> None:
    examples = [
        Example(m["title"], m["text"], m["category"])
        for m in map(json.loads, LABELLED.read_text(encoding="utf-8").splitlines())
    ]
    quality = evaluate(sample, examples)
    assert quality.count == 494
    assert quality.macro_f1 >= 0.85, quality
    assert quality.manual_share <= 0.10, quality
