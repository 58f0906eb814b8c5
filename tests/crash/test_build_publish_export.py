"""Crash points of ``build``, ``publish`` and ``local-export`` on a tiny real stack.

Each command redoes one layer over a complete previous state (see
`tests.crash.stack`) and is killed at every planned mutation *k*.  After each
kill: the previous state is usable (built layers run, the publication is
complete, exported layers run), the command's recovery leaves the previous or
the new state and no leftover; at a few *k* the real command is run again and
must converge to exactly what an uninterrupted run gives.  A real ``SIGKILL``
at a few seeded random times completes each test.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.crash.harness import (
    CrashRun,
    record_mutations,
    run_killed_at,
    run_sigkilled_after,
)
from tests.crash.stack import (
    Stack,
    copy_tree,
    launch,
    load_json,
    plan_kills,
    prepare_stack,
    run_ok,
    tree,
    venvstacks,
)
from venvstacks.builder.stamp import load_layer_stamp, recover_build_folder
from venvstacks.publish.commit import recover_publication
from venvstacks.publish.export import recover_export

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="paths of dir_fd calls need /proc"),
]

V1 = "app v1 1.0\n"
V2 = "app v2 1.0\n"
RERUN_EVERY = 5  # the real command runs again after every 5th kill (and the last)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, python_mirror: Path) -> Stack:
    return prepare_stack(tmp_path_factory.mktemp("crash-stack"), python_mirror)


def kill_everywhere(
    stack: Stack,
    command: str,
    reset: Callable[[], None],
    check: Callable[[CrashRun], None],
    converged: Callable[[], None],
) -> int:
    """Kill *command* at every planned point, check, recover, and rerun it at some."""
    args = stack.args(command)
    reset()
    counted = record_mutations(args, stack.project)
    plan = plan_kills(counted.mutations)
    for index, k in enumerate(plan):
        reset()
        run = run_killed_at(args, k, stack.project)
        try:
            assert run.killed, run.describe()
            check(run)
            if index % RERUN_EVERY == 0 or index == len(plan) - 1:
                proc = run_ok(stack.project, *args)
                assert "Traceback" not in proc.stderr
                converged()
        except AssertionError as exc:
            exc.add_note(f"crash point k={k}: {run.describe()}")
            raise
    return len(plan)


def random_kill(stack: Stack, command: str, reset: Callable[[], None], seed: int) -> None:
    """Kill the command with a real SIGKILL at a seeded random time; the next run converges."""
    reset()
    delay = random.Random(seed).uniform(0.8, 2.5)  # noqa: S311 - a test timing, not a secret
    run_sigkilled_after(stack.args(command), delay, stack.project)
    run_ok(stack.project, *stack.args(command))


def test_build_killed_anywhere(stack: Stack) -> None:
    build = stack.project / "_build"
    expected = tree(stack.build_v2)

    def reset() -> None:
        copy_tree(stack.build_v1, build)

    def check(run: CrashRun) -> None:
        # Before any recovery: the app runs (v1 or v2), or only the swap's rename aside happened.
        if (build / "app-app").is_dir():
            assert launch(build / "app-app") in (V1, V2)
            stamp = load_layer_stamp(build, "app-app")
            assert stamp is None or stamp == load_json(build / "app-app/.last-build.json")
        else:
            assert run.mutation is not None
            assert run.mutation.describe().endswith(
                "rename(_build/.app-app.staging, _build/app-app)"
            )
        assert launch_runtime(build) == "ok\n"
        recover_build_folder(build)
        assert launch(build / "app-app") in (V1, V2)
        assert not [p.name for p in build.iterdir() if p.name.startswith(".app-app")]
        assert not [p.name for p in build.iterdir() if p.name.startswith("..")]

    def converged() -> None:
        assert tree(build) == expected

    assert kill_everywhere(stack, "build", reset, check, converged) >= 10
    random_kill(stack, "build", reset, seed=1)
    converged()


def launch_runtime(build: Path) -> str:
    proc = subprocess.run(
        [build / "cpython-3.11/bin/python", "-c", "print('ok')"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout


def manifest_layers(output: Path) -> dict[str, dict[str, object]]:
    manifest = load_json(output / "__venvstacks__/venvstacks.json")
    return {
        entry["layer_name"]: entry for entries in manifest["layers"].values() for entry in entries
    }


def comparable(layers: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Manifest entries without what a held archive changes (its name, its metadata's hash)."""
    ignored = {"archive_name", "layer_metadata_hashes"}
    return {k: {f: v for f, v in e.items() if f not in ignored} for k, e in layers.items()}


def test_publish_killed_anywhere(stack: Stack, tmp_path: Path) -> None:
    copy_tree(stack.build_v2, stack.project / "_build")
    output = stack.project / "_artifacts"
    old = manifest_layers(stack.published_v1)
    new = manifest_layers(stack.published_v2)
    deployed: list[str] = []

    def reset() -> None:
        copy_tree(stack.published_v1, output)

    def check(_run: CrashRun) -> None:
        import hashlib  # noqa: PLC0415

        layers = manifest_layers(output)
        for entry in layers.values():  # every archive named is there, with its bytes
            archive = output / str(entry["archive_name"])
            digest = hashlib.sha256(archive.read_bytes()).hexdigest()
            assert digest == entry["archive_hashes"]["sha256"]  # type: ignore[index]
        assert comparable(layers) in (comparable(old), comparable(new))
        held = layers["app-app"]["archive_name"] != "app-app.tar.zst"
        if held or (not deployed and layers == new):  # deploy the held state and one other
            target = tmp_path / f"deployed-{len(deployed)}"
            run_ok(stack.project, "deploy", str(output), "--target", str(target))
            version = (
                V1
                if layers["app-app"]["archive_hashes"] == old["app-app"]["archive_hashes"]
                else V2
            )
            assert launch(target / "app-app") == version
            deployed.append(str(layers["app-app"]["archive_name"]))
        recover_publication(output)
        assert tree(output) in (tree(stack.published_v1), tree(stack.published_v2))

    def converged() -> None:
        assert tree(output) == tree(stack.published_v2)

    kill_everywhere(stack, "publish", reset, check, converged)
    assert ".held-app-app.tar.zst" in deployed  # the intermediate state was deployed and ran
    random_kill(stack, "publish", reset, seed=2)
    converged()


def test_local_export_killed_anywhere(stack: Stack) -> None:
    copy_tree(stack.build_v2, stack.project / "_build")
    export = stack.project / "_export"
    expected = tree(stack.exported_v2)

    def reset() -> None:
        copy_tree(stack.exported_v1, export)

    def check(run: CrashRun) -> None:
        if (export / "app-app").is_dir():
            assert launch(export / "app-app") in (V1, V2)
        else:
            assert run.mutation is not None
            assert run.mutation.describe().endswith(
                "rename(_export/.app-app.staging, _export/app-app)"
            )
        recover_export(export)
        assert launch(export / "app-app") in (V1, V2)
        hidden = [p.name for p in export.rglob(".*")]
        assert not [name for name in hidden if not name.startswith(".venvstacks.lock")]

    def converged() -> None:
        assert tree(export) == expected

    kill_everywhere(stack, "local-export", reset, check, converged)
    random_kill(stack, "local-export", reset, seed=3)
    converged()


def test_publish_after_a_killed_build_finds_the_previous_build(stack: Stack) -> None:
    """A build killed between its two renames: publish restores the layer and says so."""
    build = stack.project / "_build"
    copy_tree(stack.build_v1, build)
    record = record_mutations(stack.args("build"), stack.project)
    swap = next(
        m.k
        for m in record.mutations
        if m.describe().endswith("rename(_build/.app-app.staging, _build/app-app)")
    )
    copy_tree(stack.build_v1, build)
    assert run_killed_at(stack.args("build"), swap, stack.project).killed
    assert not (build / "app-app").exists()
    proc = venvstacks(stack.project, *stack.args("publish", "--output-dir", "_elsewhere"))
    # The previous build (v1) is back; the spec now asks for v2, so publish refuses it.
    recovered, error = proc.stderr.splitlines()
    assert recovered.startswith(
        f"recovered {build} after an interrupted run: restored app-app; finished the stamp "
        "of app-app; removed 1 leftover ("
    )
    assert error == (
        "error: app-app: built from older inputs (launch or support modules, post-install "
        "script or lower layers); run 'venvstacks build --include app-app' first"
    )
    assert launch(build / "app-app") == V1
    run_ok(stack.project, *stack.args("build"))
    assert tree(build) == tree(stack.build_v2)


def test_a_runtime_rebuild_killed_during_its_install_leaves_the_previous_build_publishable(
    stack: Stack,
) -> None:
    """The defect of issue 10: 59 MB of install leftovers, and publish saying "not built yet"."""
    build = stack.project / "_build"
    copy_tree(stack.build_v2, build)
    # Without the runtime cache, uv installs straight into the build folder's staging.
    args = stack.args("build", "--include", "cpython-3.11", "--clean", "--no-cache")
    proc = subprocess.Popen(
        [sys.executable, "-m", "venvstacks", *args],
        cwd=stack.project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(build.glob("..cpython-3.11.staging-install-*/pythons/*/bin")):
        assert proc.poll() is None, "the build ended before uv installed the runtime"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert list(build.glob("..cpython-3.11.staging-install-*"))
    assert launch(build / "app-app") == V2  # the previous build still runs
    published = run_ok(stack.project, *stack.args("publish", "--output-dir", "_after-kill"))
    recovered = published.stderr.splitlines()[0]
    assert recovered.startswith(f"recovered {build} after an interrupted run: removed ")
    assert not [p for p in build.iterdir() if p.name.startswith("..")]
    assert tree(build) == tree(stack.build_v2)
