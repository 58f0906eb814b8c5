"""The embeddable API (`venvstacks.store`), the Windows pointer layout, and the store's lock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.stacks import APP
from tests.store.helpers import release, run_app, venvstacks
from venvstacks.locks import hold_folder_lock
from venvstacks.store import (
    FolderLockedError,
    add_release,
    collect_garbage,
    find_app,
    list_store,
    rollback_release,
)

DOC = Path(__file__).parents[2] / "docs/store.md"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake runtime is a bash script")


def test_the_documented_embedding_example(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The example in docs/store.md, run as written (with a temporary store folder)."""
    text = DOC.read_text(encoding="utf-8")
    code = text.split("```python\n")[1].split("```")[0]
    store = tmp_path / "layers"
    namespace: dict[str, Any] = {}
    exec(code.replace("/opt/myapp/layers", str(store)), namespace)  # noqa: S102 - our own docs
    namespace["update"](release(tmp_path, "r1"))
    namespace["update"](release(tmp_path, "r2", app="v2"))
    assert namespace["start"]("app-x", "4") == 4
    namespace["undo"]()
    assert namespace["start"]("app-x") == 0
    out = capfd.readouterr().out
    assert out.startswith(
        "release 1: stored cpython-3.11, framework-x@2, app-x@1\n"
        "release 2: stored app-x@1\n"
        "app v2 framework-x v1 4\n"
        "app framework-x v1 "
    )
    assert [r.id for r in list_store(store).releases] == [1, 2]
    assert collect_garbage(store, keep=0).removed_releases == ()


def test_pointer_layout_for_windows(tmp_path: Path) -> None:
    """Without symlinks for ``current``: a pointer file, release-folder commands."""
    store = tmp_path / "store"
    add_release(store, release(tmp_path, "r1"), pointer=True)
    added = add_release(store, release(tmp_path, "r2", app="v2"), pointer=True)
    assert (store / "current").read_text() == "2\n"
    assert not (store / "current").is_symlink()
    python = store / "releases/2/app-x/bin/python"
    assert added.applications[0].command == (str(python), "-m", "x_app")
    assert run_app(python).stdout == "app v2 framework-x v1\n"
    assert rollback_release(store, pointer=True).current == 1
    assert (store / "current").read_text() == "1\n"
    assert list_store(store, pointer=True).applications[0].command[0] == str(
        store / "releases/1/app-x/bin/python"
    )
    proc = venvstacks("store", "run", "--store", store, APP)
    assert proc.stdout.startswith("app framework-x v1 ")


@pytest.mark.slow
def test_a_held_store_fails_at_once_or_waits(tmp_path: Path) -> None:
    store = tmp_path / "store"
    add_release(store, release(tmp_path, "r1"))
    add_release(store, release(tmp_path, "r2", app="v2"))
    release_lock = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with hold_folder_lock(store, command="test"):
            held.set()
            release_lock.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(10)
        proc = venvstacks("store", "switch", "--store", store, "1")
        assert proc.returncode == 1
        assert proc.stderr.startswith(f"error: {store}: in use by pid ")
        assert proc.stderr.endswith(
            "; wait for it to finish, or pass --lock-timeout SECONDS to wait for it\n"
        )
        with pytest.raises(FolderLockedError):
            rollback_release(store)
        # `store run` does not wait for the lock: a launcher never waits behind an add.
        assert run_app(find_app(store, "app-x").app.command[0]).stdout.startswith("app v2")
        waiting = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "venvstacks",
                "store",
                "switch",
                "--store",
                str(store),
                "1",
                "--lock-timeout",
                "60",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        assert waiting.poll() is None
    finally:
        release_lock.set()
        holder.join()
    stdout, stderr = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, stderr
    assert stdout.startswith("Release 1 is current (rollback returns to 2)\n")


@pytest.mark.slow
def test_two_concurrent_adds_both_land(tmp_path: Path) -> None:
    store = tmp_path / "store"
    r1, r2 = release(tmp_path, "r1"), release(tmp_path, "r2", app="v2")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "venvstacks",
                "store",
                "add",
                "--store",
                str(store),
                str(r),
                "--lock-timeout",
                "120",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in (r1, r2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    listing = list_store(store)
    assert [r.id for r in listing.releases] == [1, 2]
    assert len(listing.layer_folders) == 4  # the shared runtime and framework stored once
    assert all(f.complete for f in listing.layer_folders)
