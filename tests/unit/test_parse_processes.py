"""The import parse processes' default (services/registry/service/imports.py `default_parse_processes`):
one where the service has two whole CPUs, by its affinity and its container's CPU quota; none on less."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.registry.config import RegistrySettings
from services.registry.service import imports
from services.registry.service.imports import default_parse_processes, usable_cpus


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})


def cgroup(tmp_path: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="ascii")
    return str(tmp_path)


@pytest.mark.usefixtures("four_cpus")
@pytest.mark.parametrize(
    ("files", "cpus", "processes"),
    [
        ({}, 4.0, 1),  # no cgroup files: the affinity
        ({"cpu.max": "max 100000\n"}, 4.0, 1),  # v2, no quota
        ({"cpu.max": "100000 100000\n"}, 1.0, 0),  # a container limited to one CPU
        ({"cpu.max": "150000 100000\n"}, 1.5, 0),  # one and a half: a second process only shares them
        ({"cpu.max": "200000 100000\n"}, 2.0, 1),
        ({"cpu.max": "800000 100000\n"}, 4.0, 1),  # a quota above the affinity: the affinity
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, 4.0, 1),  # v1, no quota
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5, 0),  # v1
        ({"cpu.max": "garbage"}, 4.0, 1),  # unreadable: as if there were none
    ],
)
def test_the_default_follows_the_cpus_the_service_may_use(
    tmp_path: Path, files: dict[str, str], cpus: float, processes: int
) -> None:
    root = cgroup(tmp_path, files)
    assert usable_cpus(root) == cpus
    assert default_parse_processes(root) == processes


def test_one_cpu_of_affinity_means_no_parse_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports.os, "sched_getaffinity", lambda pid: {3})
    assert default_parse_processes(cgroup(tmp_path, {"cpu.max": "max 100000\n"})) == 0


def test_the_setting_is_unset_by_default_and_zero_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FANGPIN_REGISTRY_IMPORT_PARSE_PROCESSES", "FANGPIN_IMPORT_PARSE_PROCESSES"):
        monkeypatch.delenv(name, raising=False)
    assert RegistrySettings().import_parse_processes is None
    monkeypatch.setenv("FANGPIN_REGISTRY_IMPORT_PARSE_PROCESSES", "0")
    assert RegistrySettings().import_parse_processes == 0
