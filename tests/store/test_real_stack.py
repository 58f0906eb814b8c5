"""The store on a real stack: locked, built and published by the real CLI (offline), then stored.

Release 2 changes only the application's launch module: its runtime and
framework archives are byte-identical, so the store reuses their folders.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_publish import APP_OUTPUT, make_project, publish, run_ok
from tests.store.helpers import store_json, venvstacks

pytestmark = pytest.mark.slow


def test_two_releases_of_a_built_stack(tmp_path: Path, python_mirror: Path) -> None:
    project = make_project(tmp_path / "project", python_mirror)
    store = tmp_path / "store"
    publish(project, "r1", "--format", "tar.zst")
    first = store_json(store, "add", project / "r1")
    assert first["stored"] == ["cpython-3.11", "framework-base", "framework-upper@1", "app-app"]

    launch = project / "launch" / "app.py"
    launch.write_text(launch.read_text() + "print('release 2')\n")
    run_ok(project, "build", "--python-mirror", str(python_mirror))
    publish(project, "r2", "--format", "tar.zst")
    second = store_json(store, "add", project / "r2")
    assert (second["release"], second["stored"]) == (2, ["app-app"])
    assert second["reused"] == ["cpython-3.11", "framework-base", "framework-upper@1"]

    stable = store / "current/app-app/bin/python"
    proc = subprocess.run([stable, "-m", "app"], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout) == (0, APP_OUTPUT + "release 2\n"), proc.stderr
    old = venvstacks("store", "run", "--store", store, "--release", "1", "app-app")
    assert (old.returncode, old.stdout) == (0, APP_OUTPUT), old.stderr
    store_json(store, "rollback")
    proc = subprocess.run([stable, "-m", "app"], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout) == (0, APP_OUTPUT), proc.stderr
    gc = store_json(store, "gc", "--keep", "0")
    assert gc["removed_releases"] == []  # current and rollback target

    # Every folder of every release matches the file manifest its archive carried
    # (after the apps ran: the bytecode the interpreter wrote is not a finding).
    checked = venvstacks("verify", "--store", store, "--all-releases")
    assert (checked.returncode, checked.stderr) == (0, ""), checked.stdout
    assert checked.stdout.count("  ok\n") == 5  # app-app twice, runtime and frameworks once
    state = json.loads((store / "store.json").read_text())
    current = next(r for r in state["releases"] if r["id"] == state["current"])
    folder = next(la["folder"] for la in current["layers"] if la["layer_name"] == "app-app")
    (store / "layers" / folder / "app-app/lib/python3.11/site-packages/app.py").write_text("1\n")
    changed = venvstacks("verify", "--store", store, "--json")
    assert changed.returncode == 1
    report = json.loads(changed.stdout)
    assert [(la["folder"], la["modified"]) for la in report["layers"] if not la["ok"]] == [
        (f"layers/{folder}/app-app", ["lib/python3.11/site-packages/app.py"])
    ]
