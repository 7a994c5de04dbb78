"""``demo history``, ``report`` and ``repeats`` from the command line, against the sample city."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.records.demo import DATA
from gateway.records.periods import containing
from gateway.runtime import shanghai_now

pytestmark = pytest.mark.skipif(not DATA.exists(), reason="the shared data set is not beside the project")


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'record.db'}")
    monkeypatch.setenv("OPERATOR_TOKEN", "x")
    return tmp_path


def test_a_demo_history_gives_real_reports_and_repeats_to_review(
    record: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "history", "--months", "2", "--per-month", "60"]) == 0
    loaded = capsys.readouterr().out
    assert "over 2 months" in loaded
    assert main(["demo", "history", "--months", "2", "--per-month", "60"]) == 0  # again: nothing doubles
    assert capsys.readouterr().out == loaded

    month = containing("monthly", shanghai_now()).previous()
    assert main(["report", "monthly", "--period", month.name]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 40 <= report["total"] <= 80 and len(report["by_channel"]) >= 5 and len(report["by_unit"]) >= 5
    assert 0.5 < report["timely_response_rate"] <= 1 and report["satisfaction"]["visited"] > 0
    assert report["hot_issues"] and all(len(h["examples"]) <= 3 for h in report["hot_issues"])
    examples = " ".join(e for h in report["hot_issues"] for e in h["examples"])
    assert re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", examples) is None  # phone numbers masked

    assert main(["repeats", "list", "--status", "all", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert {i["kind"] for i in items} == {"repeat", "duplicate"}
    first = items[0]
    assert main(["repeats", "confirm", first["appeal_no"], first["earlier"]]) == 0
    assert main(["repeats", "unlink", first["appeal_no"], "BB-20000101-000001"]) == 1

    pdf = record / "month.pdf"
    assert main(["report", "monthly", "--period", month.name, "--output", str(pdf)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    capsys.readouterr()
    assert main(["report", "weekly", "--period", "2026-W99"]) == 2
    assert "2026-W99" in capsys.readouterr().err
