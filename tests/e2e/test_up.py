"""`fangpin up` on an empty home: embedded PostgreSQL, migrations, demo data, three services.

Started as a real process, as `make run` does; stopped with SIGTERM, which must leave nothing
running; started again, it must come back quickly with the data kept.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from shared.embedded_pg import free_port
from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e


def _start(home: Path, ports: dict[str, int]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANGPIN_", "TEST_DATABASE"))}
    env["FANGPIN_HOME"] = str(home)
    for name, port in ports.items():
        env[f"FANGPIN_{name.upper()}_PORT"] = str(port)
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--households", "30"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_up(proc: subprocess.Popen[str], timeout: float) -> tuple[str, float]:
    started = time.monotonic()
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stream = proc.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    output = ""
    while time.monotonic() - started < timeout:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        output += line
        if "Fangpin is up" in line:
            return output, time.monotonic() - started
    pytest.fail(f"fangpin up did not come up in {timeout}s:\n{output}")


def _token(output: str) -> str:
    lines = output.splitlines()
    index = next(i for i, line in enumerate(lines) if "county officer token" in line)
    return lines[index + 1].strip()


def _tree(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def _postgres_pid(home: Path) -> int:
    return int((home / "pgdata" / "postmaster.pid").read_text().splitlines()[0])


def _stop(proc: subprocess.Popen[str], watched: list[psutil.Process]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) == 0
    _, alive = psutil.wait_procs(watched, timeout=30)  # a loaded machine: postgres may take its time
    assert not alive, f"left behind: {[(p.pid, p.name(), ' '.join(p.cmdline()[:4])) for p in alive]}"


def test_up_serves_stops_cleanly_and_restarts_with_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ports = {name: free_port() for name in ("registry", "screening", "claims")}
    proc = _start(home, ports)
    try:
        output, first_start = _wait_up(proc, timeout=90)
        assert "demo data:" in output  # seeded once, on the first start
        token = _token(output)
        with httpx.Client(timeout=5) as client:
            for port in ports.values():
                base = f"http://127.0.0.1:{port}"
                assert client.get(f"{base}/healthz").status_code == 200
                assert client.get(f"{base}/readyz").json()["status"] == "ready"
                assert client.get(f"{base}/docs").status_code == 200
            regions = client.get(
                f"http://127.0.0.1:{ports['registry']}/v1/regions",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert regions.status_code == 200
            assert "鹤山区" in {r["name"] for r in regions.json()["items"]}
        secrets = home / "secrets.json"
        assert secrets.stat().st_mode & 0o777 == 0o600
        watched = [*_tree(proc.pid), psutil.Process(_postgres_pid(home))]
        assert len(watched) >= 5  # up, three services, postgres
        _stop(proc, watched)
    finally:
        if proc.poll() is None:
            proc.kill()

    # second start: no initdb, no second seeding, data kept (shown by what it did, not by a stopwatch:
    # the time is printed, it is a benchmark's business)
    initialised = (home / "pgdata" / "PG_VERSION").stat().st_mtime_ns
    proc = _start(home, ports)
    try:
        output, second_start = _wait_up(proc, timeout=60)
        assert (home / "pgdata" / "PG_VERSION").stat().st_mtime_ns == initialised
        assert "demo data:" not in output
        with httpx.Client(timeout=5) as client:
            regions = client.get(
                f"http://127.0.0.1:{ports['registry']}/v1/regions",
                headers={"Authorization": f"Bearer {_token(output)}"},
            )
            assert len(regions.json()["items"]) == 17
        _stop(proc, [*_tree(proc.pid), psutil.Process(_postgres_pid(home))])
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"first start {first_start:.1f}s, second start {second_start:.1f}s")
