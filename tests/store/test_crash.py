"""Crash points of ``store add``, ``store switch`` and ``store gc`` (see docs/crash-testing.md).

Each command runs in a subprocess killed at every planned file-system
mutation.  After each kill: the store's record is readable, the release
``current`` points at runs (the old one, or the new one once the record was
committed), and every release in the record has all its layer folders
complete.  Then the same operation, run again through the Python API,
converges: the expected release is current and runs, no leftover remains,
and layer folders already unpacked are not unpacked again.
"""

from __future__ import annotations

import random
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.crash.harness import CrashRun, each_crash_point, run_sigkilled_after
from tests.deploy.stacks import APP
from tests.store.helpers import release, run_app
from venvstacks.store import add_release, collect_garbage, find_app, switch_release
from venvstacks.store.state import load_layer_record, load_state

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="the fake runtime is a bash script"),
]

V1, V2, V3 = "app framework-x v1", "app v2 framework-x v1", "app v3 framework-x v1"
STORE_ENTRIES = {".venvstacks.lock", "current", "layers", "releases", "store.json"}


def current_output(store: Path) -> str:
    proc = run_app(store / "current/app-x/bin/python")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split(" /")[0].strip()


def check_consistent(store: Path) -> None:
    """Check that the record is readable and every release it lists has its folders complete."""
    state = load_state(store)
    for rel in state.releases:
        for layer in rel.layers:
            assert load_layer_record(store / "layers" / layer.folder) is not None, layer.folder


def check_clean(store: Path) -> None:
    """Check that no leftover of any interrupted command remains."""
    assert {p.name for p in store.iterdir()} == STORE_ENTRIES
    assert not [p for p in (store / "releases").iterdir() if p.name.startswith(".")]
    for folder in (store / "layers").iterdir():
        assert load_layer_record(folder) is not None, folder


def crash_test(
    tmp_path: Path,
    argv: list[str],
    prepare: Callable[[Path], None],
    allowed: set[str],
    converge: Callable[[Path], str],
) -> list[CrashRun]:
    pristine, store = tmp_path / "pristine", tmp_path / "store"
    prepare(pristine)

    def reset() -> None:
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(pristine, store, symlinks=True)

    def check(run: CrashRun) -> None:
        assert run.killed or run.returncode == 0, run.stderr
        check_consistent(store)
        assert current_output(store) in allowed
        assert converge(store) == current_output(store)
        check_clean(store)

    return each_crash_point([*argv, "--store", str(store)], tmp_path, reset=reset, check=check)


def test_add_crash_points(tmp_path: Path) -> None:
    r1, r2 = release(tmp_path, "r1"), release(tmp_path, "r2", app="v2")
    inodes: dict[str, int] = {}

    def converge(store: Path) -> str:
        unpacked = list((store / "layers").glob(f"*-{APP}/{APP}/postinstall.py"))
        before = {str(p): p.stat().st_ino for p in unpacked}
        result = add_release(store, r2)
        assert (result.release, result.current) == (2, True)
        for path, inode in before.items():  # resumed: not unpacked again
            assert Path(path).stat().st_ino == inode
        inodes.update(before)
        return V2

    def prepare(store: Path) -> None:
        add_release(store, r1)

    runs = crash_test(tmp_path, ["store", "add", str(r2)], prepare, {V1, V2}, converge)
    assert len(runs) > 20
    assert len(inodes) > 1  # some kills left the app unpacked, and the add resumed it


def test_switch_crash_points(tmp_path: Path) -> None:
    r1, r2 = release(tmp_path, "r1"), release(tmp_path, "r2", app="v2")

    def prepare(store: Path) -> None:
        add_release(store, r1)
        add_release(store, r2)

    def converge(store: Path) -> str:
        result = switch_release(store, 1)
        assert (result.current, result.rollback_target) == (1, 2)
        return V1

    crash_test(tmp_path, ["store", "switch", "1"], prepare, {V1, V2}, converge)


def test_gc_crash_points(tmp_path: Path) -> None:
    releases = [
        release(tmp_path, "r1"),
        release(tmp_path, "r2", app="v2"),
        release(tmp_path, "r3", app="v3", runtime=True),
    ]

    def prepare(store: Path) -> None:
        for artifacts in releases:
            add_release(store, artifacts)

    def converge(store: Path) -> str:
        result = collect_garbage(store, keep=0)
        assert result.kept_releases == (2, 3)
        assert [r.id for r in load_state(store).releases] == [2, 3]
        assert len(list((store / "layers").iterdir())) == 6
        rollback = find_app(store, "app-x", release=2)  # the rollback target still runs
        assert run_app(rollback.app.command[0]).stdout.startswith(V2)
        return V3

    crash_test(tmp_path, ["store", "gc", "--keep", "0"], prepare, {V3}, converge)


def test_add_sigkilled_at_random_times(tmp_path: Path) -> None:
    """Real SIGKILLs (the whole process group, post-install included) at seeded random times."""
    r1, r2 = release(tmp_path, "r1"), release(tmp_path, "r2", app="v2")
    pristine, store = tmp_path / "pristine", tmp_path / "store"
    add_release(pristine, r1)
    for delay in random.Random(12).sample([x / 10 for x in range(3, 25)], 3):  # noqa: S311 - test timing
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(pristine, store, symlinks=True)
        run = run_sigkilled_after(["store", "add", "--store", str(store), str(r2)], delay, tmp_path)
        check_consistent(store)
        assert current_output(store) in ({V1, V2} if run.killed else {V2}), delay
        assert add_release(store, r2).current
        assert current_output(store) == V2
        check_clean(store)
