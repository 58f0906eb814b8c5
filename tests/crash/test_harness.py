"""The crash-point harness itself, on `tests.crash.sample_program` (a deploy-shaped program)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.crash.harness import (
    CrashRun,
    Mutation,
    classify_bulk,
    count_mutations,
    each_crash_point,
    plan_crash_points,
    record_mutations,
    render_plan,
    run_killed_at,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="paths of dir_fd calls need /proc")

ENTRY = str(Path(__file__).with_name("sample_program.py"))
NEW = {f"f{n}.txt": str(n) for n in range(10)}
OLD = {"a": "a", "b": "b"}


def prepare(root: Path) -> None:
    folder = root / "f"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "out").mkdir(parents=True)
    for name, text in OLD.items():
        (folder / "out" / name).write_text(text, encoding="utf-8")


def contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()}


def test_every_mutation_is_counted_and_described(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    prepare(tmp_path)
    run = record_mutations([str(folder)], tmp_path, entry=ENTRY)
    assert run.returncode == 0
    assert not run.killed
    described = [m.describe().split(" ", 1)[1] for m in run.mutations]
    assert described[0] == "mkdir(f/.staging)"
    # The two threads interleave, the files are the same.
    assert sorted(described[1:11]) == sorted(f"open(f/.staging/f{n}.txt)" for n in range(10))
    assert described[11:16] == [
        "rename(f/out, f/.aside)",
        "rename(f/.staging, f/out)",
        "open(f/.done.tmp)",
        "replace(f/.done.tmp, f/done.json)",
        "rmtree(f/.aside)",
    ]
    # rmtree's own unlinks (their paths found through its dir_fd) belong to its group.
    assert sorted(described[16:18]) == ["unlink(f/.aside/a)", "unlink(f/.aside/b)"]
    assert described[18] == "rmdir(f/.aside)"
    assert [m.group for m in run.mutations[16:]] == [16, 16, 16]
    assert [m.k for m in run.mutations] == list(range(1, 20))
    prepare(tmp_path)
    assert count_mutations([str(folder)], tmp_path, entry=ENTRY) == 19


def test_killed_before_an_atomic_mutation(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    prepare(tmp_path)
    run = run_killed_at([str(folder)], 13, tmp_path, entry=ENTRY)
    assert run.killed
    assert run.describe() == "killed at #13 rename(f/.staging, f/out)"
    assert sorted(p.name for p in folder.iterdir()) == [".aside", ".staging"]
    assert contents(folder / ".staging") == NEW
    assert contents(folder / ".aside") == OLD


def test_killed_right_after_opening_a_file_for_writing(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    prepare(tmp_path)
    run = run_killed_at([str(folder)], 14, tmp_path, entry=ENTRY)
    assert run.describe() == "killed at #14 open(f/.done.tmp)"
    assert (folder / ".done.tmp").read_bytes() == b""  # a torn write


def test_killed_in_a_worker_thread(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    prepare(tmp_path)
    run = run_killed_at([str(folder)], 5, tmp_path, entry=ENTRY)
    assert run.killed
    assert run.mutation is not None
    assert run.mutation.function == "open"
    assert run.mutation.paths[0].startswith("f/.staging/f")
    # mkdir was #1: three files written, the fourth opened (and left empty) when killed;
    # the other thread may have just opened a fifth.
    assert (tmp_path / run.mutation.paths[0]).read_bytes() == b""
    assert len(list((folder / ".staging").iterdir())) in {4, 5}


def test_a_run_past_the_last_mutation_completes(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    prepare(tmp_path)
    run = run_killed_at([str(folder)], 20, tmp_path, entry=ENTRY)
    assert not run.killed
    assert run.returncode == 0
    assert run.describe() == "completed (exit 0) after 19 mutations"
    assert contents(folder / "out") == NEW


def m(k: int, function: str, *paths: str, group: int | None = None) -> Mutation:
    return Mutation(k, function, paths, group)


STAGED = [
    m(1, "mkdir", "t"),  # the target: created, never moved or removed
    m(2, "mkdir", "t/.s"),
    *[m(k, "open", f"t/.s/l/f{k}") for k in range(3, 13)],
    m(13, "rename", "t/l", "t/.s/old"),  # moved in: .s is no longer fresh
    m(14, "open", "t/.s/late"),
    m(15, "rename", "t/.s/l", "t/l"),
    m(16, "rmtree", "t/.s"),
    *[m(k, "unlink", f"t/.s/old/f{k}", group=16) for k in range(17, 27)],
    m(27, "rmdir", "t/.s", group=16),
]


def test_bulk_runs_are_staging_writes_and_the_insides_of_one_rmtree() -> None:
    keys = classify_bulk(STAGED)
    assert keys[:2] == [None, None]
    assert keys[2:12] == [("staging", 1)] * 10
    assert keys[12:16] == [None, None, None, None]
    assert keys[16:] == [("group", 16)] * 11


def test_the_plan_keeps_first_last_and_samples_of_each_bulk_run() -> None:
    plan = plan_crash_points(STAGED)
    assert plan == [1, 2, 3, 5, 7, 10, 12, 13, 14, 15, 16, 17, 19, 22, 25, 27]
    assert plan_crash_points(STAGED, samples=0) == [1, 2, 3, 12, 13, 14, 15, 16, 17, 27]
    assert render_plan(STAGED, plan).splitlines()[:4] == [
        "* #1 mkdir(t)",
        "* #2 mkdir(t/.s)",
        "* #3 open(t/.s/l/f3)  [staging]",
        "  #4 open(t/.s/l/f4)  [staging]",
    ]


def test_every_crash_point_is_killed_at_and_checked(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    seen: list[str] = []

    def check(run: CrashRun) -> None:
        # The program's own invariant: out/ is entirely the old or the new set.
        if (folder / "out").exists():
            assert contents(folder / "out") in (OLD, NEW)
        else:
            assert contents(folder / ".aside") == OLD
        seen.append(run.describe())

    runs = each_crash_point(
        [str(folder)], tmp_path, reset=lambda: prepare(tmp_path), check=check, entry=ENTRY
    )
    assert [r.killed for r in runs] == [False, *[True] * 14, False]
    assert seen[-1] == "completed (exit 0) after 19 mutations"
    assert "killed at #12 rename(f/out, f/.aside)" in seen
    assert "killed at #16 rmtree(f/.aside)" in seen


def test_a_failing_check_names_the_crash_point(tmp_path: Path) -> None:
    folder = tmp_path / "f"

    def check(_run: CrashRun) -> None:
        assert (folder / "out").exists()

    with pytest.raises(AssertionError) as caught:
        each_crash_point(
            [str(folder)], tmp_path, reset=lambda: prepare(tmp_path), check=check, entry=ENTRY
        )
    assert "crash point k=13: killed at #13 rename(f/.staging, f/out)" in str(
        caught.value.__notes__
    )
