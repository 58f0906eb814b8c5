"""Deploy killed at every file-system mutation (tests/crash/harness.py), and at random times.

The stack of `tests.deploy.stacks` (runtime, framework, app; real archives,
real ``postinstall.py``), published once per module.  After each kill:

- no layer folder in the target is half-installed: each one present is
  byte-for-byte the previous or the new deployment of that layer;
- without a journal, the record and the layers agree and the app runs entirely
  the previous or entirely the new set (with a journal — the switch was
  interrupted between its renames — the next deploy finishes it);
- deploying again converges: the new set runs and nothing is left over.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.crash.harness import CrashRun, each_crash_point, run_sigkilled_after
from tests.deploy.stacks import APP, FRAMEWORK, RUNTIME, publish, snapshot
from venvstacks.deploy import deploy_layers
from venvstacks.deploy.journal import JOURNAL_NAME
from venvstacks.deploy.record import RECORD_NAME, load_record
from venvstacks.locks import LOCK_FILE_NAMES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="the fake runtime is a bash script"),
]

LAYERS = (RUNTIME, FRAMEWORK, APP)
Snapshot = dict[str, object]


@dataclass(frozen=True)
class Scenario:
    """Deploying *artifacts* into *target*, which starts as a copy of *start* (or absent)."""

    root: Path
    artifacts: Path
    target: Path
    start: Path | None
    old: dict[str, Snapshot]  # each layer as deployed before (empty: a first deploy)
    new: dict[str, Snapshot]  # each layer as this deployment leaves it
    old_record: dict[str, str]
    new_record: dict[str, str]

    @property
    def argv(self) -> list[str]:
        return ["deploy", str(self.artifacts), "--target", str(self.target)]

    def reset(self) -> None:
        if self.target.exists():
            shutil.rmtree(self.target)
        if self.start is not None:
            shutil.copytree(self.start, self.target, symlinks=True)


def _layers(target: Path) -> dict[str, Snapshot]:
    return {name: snapshot(target / name) for name in LAYERS if (target / name).exists()}


def _app_output(target: Path) -> str:
    proc = subprocess.run(
        [target / APP / "bin/python", "-m", "x_app"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Publish the stack as v1 and as v2 (a new framework, so the app is deployed again)."""
    root = tmp_path_factory.mktemp("crash-deploy")
    v1 = publish(root / "v1")
    v2 = publish(root / "v2", version="v2")
    return root, v1, v2


def _scenario(root: Path, artifacts: Path, previous: Path | None) -> Scenario:
    target = root / "target"
    if target.exists():
        shutil.rmtree(target)
    start = None
    if previous is not None:
        deploy_layers(previous, target)
        start = root / "start"
        shutil.copytree(target, start, symlinks=True)
    old, old_record = _layers(target), load_record(target)
    if old:
        assert _app_output(target) == f"app framework-x v1 {target / APP}\n"
    deploy_layers(artifacts, target)
    scenario = Scenario(
        root, artifacts, target, start, old, _layers(target), old_record, load_record(target)
    )
    scenario.reset()
    return scenario


def _check(scenario: Scenario, run: CrashRun) -> None:
    target = scenario.target
    assert run.killed or run.returncode == 0, run.stderr
    if target.exists():
        for name, layer in _layers(target).items():  # never a half-installed layer
            assert layer in (scenario.old.get(name), scenario.new[name]), (
                f"{name} is half-installed"
            )
        if not (target / JOURNAL_NAME).exists():
            present = _layers(target)
            record = load_record(target)
            assert record in (scenario.old_record, scenario.new_record)
            expected = scenario.old if record == scenario.old_record else scenario.new
            # The record and the layers agree, and the layers are byte for byte a
            # deployment whose app was seen running entirely the old or the new set.
            assert present == expected
    result = deploy_layers(scenario.artifacts, target)  # what the next run does
    assert _layers(target) == scenario.new
    assert load_record(target) == scenario.new_record
    hidden = [p.name for p in target.iterdir() if p.name.startswith(".")]
    assert sorted(set(hidden) - LOCK_FILE_NAMES) == [RECORD_NAME]
    assert _app_output(target) == _app_output_of(scenario, scenario.new_record)
    assert result.layers == LAYERS


def _app_output_of(scenario: Scenario, record: dict[str, str]) -> str:
    version = "v1" if record == scenario.old_record and scenario.old else "v2"
    if scenario.start is None:  # a first deploy of v1
        version = "v1"
    return f"app framework-x {version} {scenario.target / APP}\n"


def _crash_all(scenario: Scenario) -> list[CrashRun]:
    return each_crash_point(
        scenario.argv,
        scenario.root,
        reset=scenario.reset,
        check=lambda run: _check(scenario, run),
    )


def test_a_first_deploy_killed_at_every_mutation(published: tuple[Path, Path, Path]) -> None:
    root, v1, _ = published
    runs = _crash_all(_scenario(root / "first", v1, None))
    killed = [r.mutation.function for r in runs if r.mutation is not None]
    assert {"mkdir", "rename", "replace", "unlink", "rmtree"} <= set(killed)


def test_an_update_killed_at_every_mutation(published: tuple[Path, Path, Path]) -> None:
    root, v1, v2 = published
    runs = _crash_all(_scenario(root / "update", v2, v1))
    renamed = [r.mutation.paths for r in runs if r.mutation and r.mutation.function == "rename"]
    # Each layer replaced: the previous one aside, the new one in.
    assert len(renamed) == 4


@pytest.fixture
def update(published: tuple[Path, Path, Path]) -> Scenario:
    root, v1, v2 = published
    return _scenario(root / "sigkill", v2, v1)


def test_an_update_sigkilled_at_random_times(update: Scenario) -> None:
    started = time.monotonic()
    completed = run_sigkilled_after(update.argv, 120, update.root)
    duration = time.monotonic() - started
    assert completed.returncode == 0, completed.stderr
    rng = random.Random(20261201)  # noqa: S311 - seeded test timing, not security
    # Python's start and imports take the first part of a run; kill in the rest.
    for fraction in sorted(rng.uniform(0.4, 1.0) for _ in range(4)):
        update.reset()
        run = run_sigkilled_after(update.argv, fraction * duration, update.root)
        _check(update, run)
