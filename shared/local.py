"""Local development state in `.fangpin/`: generated secrets (mode 0600) and the embedded database."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from shared.pii import generate_key


def home() -> Path:
    return Path(os.environ.get("FANGPIN_HOME", ".fangpin")).resolve()


def load_or_create_secrets(directory: Path | None = None) -> dict[str, str]:
    """The JWT secret and PII keys `up`, `token` and the services share; created once."""
    directory = directory or home()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    values = {
        "jwt_secret": secrets.token_urlsafe(48),
        "pii_key": generate_key(),
        "pii_index_key": generate_key(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    return values


SECRET_ENV = {
    "FANGPIN_JWT_SECRET": "jwt_secret",
    "FANGPIN_PII_KEY": "pii_key",
    "FANGPIN_PII_INDEX_KEY": "pii_index_key",
}


def apply_local_environment(directory: Path | None = None) -> dict[str, str]:
    """Fill FANGPIN_* secrets from `.fangpin/` where the environment does not set them.

    When the environment already has every secret (a container), nothing is read or written,
    so the command works on a read-only root file system.
    """
    if not all(os.environ.get(name) for name in SECRET_ENV):
        values = load_or_create_secrets(directory)
        for name, field in SECRET_ENV.items():
            if not os.environ.get(name):
                os.environ[name] = values[field]
    return {name: os.environ[name] for name in SECRET_ENV}
