"""``venvstacks store`` as a user runs it (the real CLI in a subprocess, real archives).

The small fake stack of ``tests/deploy/stacks.py``: its runtime is a script
running this interpreter, the framework and app are layered layers finished
by the real ``postinstall.py``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.deploy.stacks import APP, FRAMEWORK, RUNTIME
from tests.store.helpers import release, run_app, store_json, store_ok, venvstacks
from venvstacks.store import StoreListing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="the fake runtime is a bash script"),
]


def folders(store: Path) -> list[str]:
    return sorted(p.name for p in (store / "layers").iterdir())


def folder_of(store: Path, release_id: int, build_name: str) -> str:
    target = (store / "releases" / str(release_id) / build_name).readlink()
    return target.parts[3]


def test_add_run_switch_rollback_pin_gc(tmp_path: Path) -> None:
    store = tmp_path / "store"
    r1 = release(tmp_path, "r1")
    proc = store_ok(store, "add", r1)
    stable = store / "current/app-x/bin/python"
    assert proc.stdout == (
        f"Added release 1 (current) in {store}\n"
        f"  {RUNTIME}   stored\n"
        f"  {FRAMEWORK}  stored\n"
        f"  {APP}        stored\n"
        "Launch the applications with:\n"
        f"  app-x: {stable} -m x_app\n"
    )
    assert run_app(stable).stdout == f"app framework-x v1 {store / 'current/app-x'}\n"
    assert len(folders(store)) == 3

    # Release 2 changes only the app: the runtime and framework folders are reused.
    r2 = release(tmp_path, "r2", app="v2")
    added = store_json(store, "add", r2)
    assert (added["release"], added["current"], added["new_release"]) == (2, True, True)
    assert added["stored"] == [APP]
    assert added["reused"] == [RUNTIME, FRAMEWORK]
    assert len(folders(store)) == 4
    for shared in (RUNTIME, "framework-x"):
        assert folder_of(store, 1, shared) == folder_of(store, 2, shared)
    assert folder_of(store, 1, "app-x") != folder_of(store, 2, "app-x")

    # Both apps run: through `store run` (exit status passed on) and the stable path.
    run = venvstacks("store", "run", "--store", store, "app-x", "7", "--flag")
    assert (run.returncode, run.stdout) == (7, "app v2 framework-x v1 7 --flag\n")
    assert run_app(stable, "0").stdout == "app v2 framework-x v1 0\n"
    old = venvstacks("store", "run", "--store", store, "--release", "1", APP)
    assert (old.returncode, old.stdout) == (
        0,
        f"app framework-x v1 {store / 'layers' / folder_of(store, 1, 'app-x') / APP}\n",
    )

    # Adding the same release again adds nothing.
    again = store_ok(store, "add", r2)
    assert again.stdout.startswith(f"Already in the store: release 2 (current) in {store}\n")

    # Rollback, switch: instant, and the stable path follows.
    assert store_ok(store, "rollback").stdout.startswith(
        "Release 1 is current (rollback returns to 2)\n"
    )
    assert run_app(stable).stdout.startswith("app framework-x v1 ")
    assert (store / "current").readlink() == Path("releases/1")
    store_ok(store, "switch", "2")
    assert run_app(stable).stdout == "app v2 framework-x v1\n"

    # Pin and gc: release 3 (runtime unchanged) is added; gc --keep 1 keeps 3 (newest,
    # current), 2 (rollback target) and 1 (pinned).
    r3 = release(tmp_path, "r3", app="v2")
    (r3 / "x.txt").write_text("same layers, other folder")
    assert store_json(store, "add", r3)["release"] == 2  # same layers as release 2
    assert store_ok(store, "pin", "1").stdout == "Release 1 is pinned\n"
    dry = store_json(store, "gc", "--keep", "1", "--dry-run")
    assert (dry["removed_releases"], dry["removed_folders"], dry["freed"]) == ([], [], 0)
    store_ok(store, "unpin", "1")
    dry = store_json(store, "gc", "--keep", "1", "--dry-run")
    assert (dry["kept_releases"], dry["removed_releases"]) == ([1, 2], [])
    listing = store_json(store, "list")
    assert [r["pinned"] for r in listing["releases"]] == [False, False]


def test_gc_keeps_a_runtime_shared_with_kept_releases(tmp_path: Path) -> None:
    """LM Studio's case: removing an old engine must not remove the runtime others run on."""
    store = tmp_path / "store"
    store_ok(store, "add", release(tmp_path, "r1"))
    store_ok(store, "add", release(tmp_path, "r2", app="v2"))
    store_ok(store, "add", release(tmp_path, "r3", app="v2", runtime=True), "--no-switch")
    store_ok(store, "switch", "3")  # current 3, rollback target 2; 1 is old
    runtime_1 = folder_of(store, 1, RUNTIME)
    assert folder_of(store, 2, RUNTIME) == runtime_1
    assert folder_of(store, 3, RUNTIME) != runtime_1

    dry = store_ok(store, "gc", "--keep", "1", "--dry-run")
    app_1 = folder_of(store, 1, "app-x")
    lines = dry.stdout.splitlines()
    assert lines[:3] == [
        "Kept releases: 2, 3",
        "Would remove releases: 1",
        "Would remove layer folders:",
    ]
    assert lines[3].startswith(f"  {app_1}  ")
    assert lines[3].endswith(" kB  (1)")
    assert lines[4:] == [f"{lines[3].split()[1]} kB would free"]
    assert (store / "layers" / app_1).is_dir()  # a dry run changes nothing

    result = store_json(store, "gc", "--keep", "1")
    assert result["removed_releases"] == [1]
    assert [f["folder"] for f in result["removed_folders"]] == [app_1]
    assert result["freed"] == result["removed_folders"][0]["size"] > 0
    assert not (store / "releases/1").exists()
    assert (store / "layers" / runtime_1).is_dir()  # release 2 still runs on it

    # The kept release and the rollback target both run.
    assert run_app(store / "current/app-x/bin/python").stdout == "app v2 framework-x v1\n"
    store_ok(store, "rollback")
    assert run_app(store / "current/app-x/bin/python").stdout == "app v2 framework-x v1\n"
    assert (
        venvstacks("store", "run", "--store", store, "--release", "3", "app-x", "3").returncode == 3
    )


def test_runtime_update_gives_new_folders_to_everything_above_it(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store_ok(store, "add", release(tmp_path, "r1", app="v2"))
    before = set(folders(store))
    added = store_json(store, "add", release(tmp_path, "r2", app="v2", runtime=True))
    # The framework's and the app's archives did not change, yet they get new folders:
    # their post-installed files point at the new runtime.
    assert added["stored"] == [RUNTIME, FRAMEWORK, APP]
    assert before < set(folders(store))
    assert len(folders(store)) == 6
    news = store / "layers" / folder_of(store, 2, RUNTIME) / RUNTIME / "lib/NEWS.txt"
    assert news.is_file()
    # The old release still runs until it is collected.
    proc = venvstacks("store", "run", "--store", store, "--release", "1", "app-x", "5")
    assert (proc.returncode, proc.stdout) == (5, "app v2 framework-x v1 5\n")
    store_ok(store, "gc", "--keep", "0")  # keeps 2 (current) and 1 (rollback target)
    assert len(folders(store)) == 6
    store_ok(store, "add", release(tmp_path, "r3", app="v3", runtime=True))
    result = store_json(store, "gc", "--keep", "0")
    assert result["removed_releases"] == [1]
    assert sorted(f["folder"] for f in result["removed_folders"]) == sorted(before)
    assert len(folders(store)) == 4  # release 2's three folders, release 3's app
    assert run_app(store / "current/app-x/bin/python").stdout == "app v3 framework-x v1\n"
    store_ok(store, "rollback")
    assert run_app(store / "current/app-x/bin/python").stdout == "app v2 framework-x v1\n"


def test_list_shows_releases_folders_and_commands(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store_ok(store, "add", release(tmp_path, "r1"))
    store_ok(store, "add", release(tmp_path, "r2", app="v2"), "--no-switch")
    listing = store_json(store, "list")
    assert StoreListing.model_validate(listing).current == 1  # the documented format
    assert (listing["current"], listing["rollback_target"]) == (1, None)
    assert [(r["id"], r["current"], r["pinned"]) for r in listing["releases"]] == [
        (1, True, False),
        (2, False, False),
    ]
    assert [la["install_target"] for la in listing["releases"][1]["layers"]] == [
        RUNTIME,
        FRAMEWORK,
        APP,
    ]
    sizes = {f["install_target"]: f for f in listing["layer_folders"] if f["releases"] == [1, 2]}
    assert sorted(sizes) == [RUNTIME, FRAMEWORK]
    assert all(f["complete"] and f["size"] > 0 for f in listing["layer_folders"])
    stable = store / "current/app-x"
    assert listing["applications"] == [
        {
            "layer_name": "app-x",
            "install_target": APP,
            "launch_module": "x_app",
            "command": [str(stable / "bin/python"), "-m", "x_app"],
            "exact_command": [
                str(store / "layers" / folder_of(store, 1, "app-x") / APP / "bin/python"),
                "-m",
                "x_app",
            ],
        }
    ]
    text = store_ok(store, "list").stdout
    assert text.startswith(f"Store {store}\nReleases:\n  1  added ")
    assert "[current]" in text
    assert text.endswith(
        f"Launch the current applications with:\n  app-x: {stable}/bin/python -m x_app\n"
    )


def test_store_folder_from_the_environment(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "VENVSTACKS_STORE": str(store)}
    assert venvstacks("store", "add", release(tmp_path, "r1"), env=env).returncode == 0
    proc = venvstacks("store", "run", "app-x", env=env)
    assert proc.stdout.startswith("app framework-x v1 ")


ERRORS = [
    (("switch", "9"), "the store has no release 9 (releases: 1); see 'venvstacks store list'"),
    (("rollback",), "no release to roll back to: the store has had only one current release"),
    (("pin", "4"), "the store has no release 4 (releases: 1); see 'venvstacks store list'"),
    (("run", "app-y"), "release 1 has no application 'app-y' (applications: app-x)"),
    (("run", "--release", "3", "app-x"), "{store}: no release 3; see 'venvstacks store list'"),
    (("gc", "--keep", "-1"), None),
]


def test_errors_are_one_line(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store_ok(store, "add", release(tmp_path, "r1"))
    before = sorted(p.name for p in store.rglob("*"))
    for (command, *rest), message in ERRORS:
        proc = venvstacks("store", command, "--store", store, *rest)
        if message is None:  # rejected by the command line parser
            assert proc.returncode == 2, proc.stderr
            continue
        assert (proc.returncode, proc.stdout) == (1, ""), command
        assert proc.stderr == f"error: {message.format(store=store)}\n"
    assert sorted(p.name for p in store.rglob("*")) == before


def test_a_folder_that_is_not_a_store_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home/notes.txt").write_text("mine")
    proc = venvstacks("store", "gc", "--store", tmp_path / "home")
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: {tmp_path / 'home'}: not a venvstacks store (it holds notes.txt); "
        "pass an empty or new folder\n"
    )
    missing = venvstacks("store", "list", "--store", tmp_path / "nowhere")
    assert missing.stderr == (
        f"error: {tmp_path / 'nowhere'}: no such store; add a release with "
        f"'venvstacks store add --store {tmp_path / 'nowhere'} ...'\n"
    )


def test_a_bad_archive_adds_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store_ok(store, "add", release(tmp_path, "r1"))
    r2 = release(tmp_path, "r2", app="v2")
    archive = r2 / f"{APP}.tar.gz"
    archive.write_bytes(archive.read_bytes()[:-10] + b"0123456789")
    proc = venvstacks("store", "add", "--store", store, r2)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {APP}: archive {APP}.tar.gz has sha256 ")
    assert json.loads((store / "store.json").read_text())["current"] == 1
    assert sorted(p.name for p in store.iterdir()) == [
        ".venvstacks.lock",
        "current",
        "layers",
        "releases",
        "store.json",
    ]
    # What a killed add leaves is removed by the next command, which says so.
    (store / ".staging/x-app-x@1.abc/app-x@1").mkdir(parents=True)
    (store / ".store.json.tmp1").write_text("{")  # a torn write of the record
    listed = venvstacks("store", "list", "--store", store)
    assert listed.returncode == 0
    assert listed.stderr == (
        "warning: recovered: removed the partial unpack of an interrupted 'store add'\n"
    )
    assert not (store / ".staging").exists()
    assert not (store / ".store.json.tmp1").exists()
