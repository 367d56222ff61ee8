"""Services as real processes over real HTTP, for end-to-end tests."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from stdnum.cn import ric

from shared.embedded_pg import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True, timeout: float = 30) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", self.name, "--port", str(self.port)],
            env={**os.environ, **self.env},
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout}s: {self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def service_processes(names: list[str], env: dict[str, str], log_dir: Path) -> dict[str, ServiceProcess]:
    ports = {name: free_port() for name in names}
    common = dict(env)
    for name, port in ports.items():
        common[f"FANGPIN_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
    common.setdefault("FANGPIN_OUTBOX_POLL_SECONDS", "0.2")
    common.setdefault("FANGPIN_OUTBOX_MAX_BACKOFF_SECONDS", "1")
    return {name: ServiceProcess(name, port, common, log_dir / f"{name}.log") for name, port in ports.items()}


#: The schedulers off: an e2e test drives every run and round itself.
NO_SCHEDULERS = {"FANGPIN_SCREENING_SCHEDULE_ENABLED": "false", "FANGPIN_CLAIMS_SCHEDULER_ENABLED": "false"}


@contextmanager
def seeded_services(
    names: list[str], env: dict[str, str], log_dir: Path, *, seed_says: str | None = None
) -> Iterator[dict[str, ServiceProcess]]:
    """`fangpin seed` into the environment's database (the demo regions and the reference scheme), then
    the named services as real processes on free ports, stopped afterwards; yields them by name.
    `seed_says`: a text the seed's output must contain (what it loaded)."""
    seeded = subprocess.run(
        [sys.executable, "-m", "services.cli", "seed"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    if seed_says is not None:
        assert seed_says in seeded.stdout, seeded.stdout
    procs = service_processes(names, env, log_dir)
    try:
        for proc in procs.values():
            proc.start()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


def ok(response: httpx.Response, *statuses: int) -> Any:
    """The JSON body of a response whose status is one of `statuses` (200 when none is given)."""
    assert response.status_code in (statuses or (200,)), f"{response.request.url}: {response.text}"
    return response.json()


# The ID numbers the e2e tests make: drawn from a seeded generator (the same numbers every run) and never
# the same one twice in a session. Unseeded draws of 1,000 sequences for the same birth dates repeated
# now and then, and the second household claiming that person failed with 409 person_in_other_household.
_ID_DRAWS = random.Random(20261203)
_ISSUED_IDS: set[str] = set()


def national_id(county: str, birth: date, sex: str | None = None) -> str:
    """A valid 18-character 居民身份证号码 of the county, born on `birth` (odd sequence for male, even female),
    not issued before in this test session."""
    while True:
        if sex is None:
            seq = _ID_DRAWS.randint(0, 999)
        else:
            digits = [1, 3, 5, 7, 9] if sex == "male" else [0, 2, 4, 6, 8]
            seq = _ID_DRAWS.randint(0, 99) * 10 + _ID_DRAWS.choice(digits)
        body = f"{county}{birth:%Y%m%d}{seq:03d}"
        number = body + ric.calc_check_digit(body + "0")  # stdnum ignores the check slot it is given
        if number not in _ISSUED_IDS:
            _ISSUED_IDS.add(number)
            return number
