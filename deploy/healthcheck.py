"""Container HEALTHCHECK for the fangpin image: GET /healthz on the service in this container.

The slim image has no curl, so this uses the standard library only. It finds the port the
same way `fangpin serve` chooses it: `--port` on PID 1's command line, else FANGPIN_PORT,
else the service's default port. Exit 0 when /healthz answers 2xx, 1 otherwise (Docker's
contract). A `fangpin migrate` container has no server; compose disables its healthcheck.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

DEFAULT_PORTS = {"registry": 8001, "screening": 8002, "claims": 8003}
TIMEOUT_SECONDS = 3.0


def read_cmdline(pid: int = 1) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def resolve_port(argv: Sequence[str], env: dict[str, str]) -> int:
    """The port `fangpin serve <service> [--port P]` listens on, given its argv and environment."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--port" and i + 1 < len(args):
            return int(args[i + 1])
        if arg.startswith("--port="):
            return int(arg.split("=", 1)[1])
    if env.get("FANGPIN_PORT"):
        return int(env["FANGPIN_PORT"])
    if "serve" in args:
        after = args[args.index("serve") + 1 :]
        for arg in after:
            if arg in DEFAULT_PORTS:
                return DEFAULT_PORTS[arg]
    # No `serve` on the command line (e.g. argv unreadable): the image's default command.
    return DEFAULT_PORTS["registry"]


def check(port: int, host: str = "127.0.0.1", path: str = "/healthz") -> bool:
    url = f"http://{host}:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # `healthcheck.py <port>` checks that port; without arguments, the service in PID 1.
    port = int(args[0]) if args else resolve_port(read_cmdline(1), dict(os.environ))
    return 0 if check(port) else 1


if __name__ == "__main__":
    sys.exit(main())
