"""The README's walk-through and docs/registry-walkthrough.md, run verbatim (their `sh` blocks, in order)
against one `fangpin up`: the README first, then the registry walk-through on the same data, so the two
cannot collide (distinct ID numbers, household numbers, files)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shared.embedded_pg import free_port
from tests.e2e.test_up import _wait_up
from tests.support.processes import ROOT

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (shutil.which("jq") and shutil.which("curl")), reason="the walk-through uses curl and jq"),
]


def sh_blocks(text: str) -> str:
    return "\n".join(re.findall(r"```sh\n(.*?)```", text, re.S))


def walkthrough_script(ports: dict[str, int], document: str = "README.md") -> str:
    text = (ROOT / document).read_text()
    if document == "README.md":
        text = text[text.index("## A walk through the main flow") : text.index("## The CLI")]
    script = sh_blocks(text)
    for default, name in ((8001, "registry"), (8002, "screening"), (8003, "claims")):
        script = script.replace(f"http://127.0.0.1:{default}", f"http://127.0.0.1:{ports[name]}")
    return "set -euo pipefail\n" + script


def test_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("registry", "screening", "claims")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANGPIN_", "TEST_DATABASE"))}
    env["FANGPIN_HOME"] = str(tmp_path / "home")
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    for name, port in ports.items():
        env[f"FANGPIN_{name.upper()}_PORT"] = str(port)
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--households", "50"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_up(up, timeout=90)
        (tmp_path / "walk.sh").write_text(walkthrough_script(ports))
        (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])  # the README says .venv/bin/fangpin
        run = subprocess.run(
            ["bash", str(tmp_path / "walk.sh")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        out = run.stdout
        assert '"missing_token"' in out
        assert '"national_id_masked":"410602********1312"' in out
        assert '"matched":1' in out
        assert '"claim_leads":1' in out
        assert '"codes":["illness"]' in out
        assert '{"state":"assessed","payout":"19000.00"}' in out
        assert '{"status":"paid","changed":true}' in out
        assert '{"year":2026,"benefit_income":"19000.00","net_income":"19000.00"}' in out
        assert '{"eligible":true,"payout":"16000.00"}' in out
        assert "6222021234567890123" in out  # only in the bank file, which is the point of it
        assert out.count("410602196803151312") == 0
        # the monitoring case, step by step, to confirmation and the registry's status
        assert '"suggested_type":"unstable"' in out
        assert '{"state":"verified","allowed_actions":["village_review","reject","return"]}' in out
        assert '"state":"notice"' in out
        assert '{"status":409,"code":"notice_not_elapsed"}' in out
        assert ": township_reviewed (version " in out
        assert '{"state":"monitoring","allowed_actions":["change_type"]}' in out  # the county's type change
        assert '{"status":"unstable"}' in out

        # the registry walk-through, on the same stack, after the README
        (tmp_path / "registry.sh").write_text(walkthrough_script(ports, "docs/registry-walkthrough.md"))
        run = subprocess.run(
            ["bash", str(tmp_path / "registry.sh")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        out = run.stdout
        assert '"member_count": 3' in out
        assert '"410602********2116"' in out
        assert '"household_not_found"' in out  # the other village's cadre
        assert '"410602100201-W0001"' in out  # found by the exact ID number
        assert '"version_conflict"' in out
        assert '"role_not_allowed"' in out
        assert '"national_id": "410602197504052116"' in out  # the audited reveal
        assert "person_in_other_household" not in out
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=40)
