"""``hotline-gateway accounts``: the token printed once, roles checked, the password read from
standard input when that is not a terminal, and the token working over HTTP until disabled."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gateway.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


def test_add_list_token_password_disable(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["accounts", "add", "zhou", "--role", "supervisor"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("hlk_")
    assert main(["accounts", "add", "qian", "--role", "boss"]) == 2
    assert "unknown role 'boss' (one of operator, supervisor, admin)" in capsys.readouterr().err
    assert main(["accounts", "add", "zhou", "--role", "admin"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["accounts", "token", "zhou"]) == 0
    second = capsys.readouterr().out.strip()
    assert second.startswith("hlk_") and second != first
    monkeypatch.setattr("sys.stdin", io.StringIO("淮河路-2026-春\n"))
    assert main(["accounts", "password", "zhou"]) == 0
    assert main(["accounts", "disable", "zhou"]) == 0
    capsys.readouterr()
    assert main(["accounts", "list"]) == 0
    assert capsys.readouterr().out.split() == ["zhou", "supervisor", "disabled", "password"]
    assert main(["accounts", "disable", "nobody"]) == 2
    assert "no account 'nobody'" in capsys.readouterr().err
    assert (data_dir / "hotline.db").exists()
