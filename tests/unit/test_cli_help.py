"""Every `fangpin` command's --help ends with an example; `fangpin import` honours FANGPIN_REGISTRY_PORT."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.cli import EXAMPLES, app

COMMANDS = sorted(c.name or "" for c in app.registered_commands)


def test_every_command_is_in_the_examples() -> None:
    assert set(COMMANDS) == set(EXAMPLES)
    assert "case-step" in COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "240", "TERMINAL_WIDTH": "240"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Example:" in text
    assert f"fangpin {command}" in text.split("Example:", 1)[1]


def test_import_uses_the_registry_port(monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory) -> None:
    import httpx

    seen: list[str] = []

    def refuse(self: httpx.Client, method: str, url: str, **kwargs: object) -> httpx.Response:
        seen.append(str(self.base_url))
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(httpx.Client, "request", refuse)
    monkeypatch.setattr(httpx.Client, "send", lambda self, *a, **k: refuse(self, "POST", ""))
    monkeypatch.setenv("FANGPIN_REGISTRY_PORT", "18123")
    monkeypatch.delenv("FANGPIN_REGISTRY_URL", raising=False)
    monkeypatch.setenv("FANGPIN_JWT_SECRET", "x" * 40)
    file = tmp_path / "h.csv"  # type: ignore[operator]
    file.write_text("户编号\n")
    CliRunner().invoke(app, ["import", str(file)])
    assert seen, "the import did not try the registry"
    assert seen[0].startswith("http://127.0.0.1:18123")
