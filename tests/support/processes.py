"""Services as real processes over real HTTP, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

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
