"""``venvstacks deploy`` holds its target: concurrent deployments wait their turn and keep the record.

Also the operating-system errors of a deployment (a file in the way of the
target or of the record, a full disk): one line naming the path, exit 1, the
target as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.stacks import (
    APP,
    CONFIG,
    FRAMEWORK,
    PY_VERSION,
    RUNTIME,
    archive_layer,
    layer_metadata,
    make_layers,
    publish,
    snapshot,
    write_manifest,
)
from tests.deploy.test_deploy_cmd import venvstacks
from tests.locking import lock_holder
from venvstacks.builder.layer_config import compute_layered_config
from venvstacks.deploy.record import RECORD_NAME
from venvstacks.locks import HOLDER_NAME, LOCK_NAME, load_holder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake runtime is a bash script")

HOST = socket.gethostname()
FRAMEWORK_Y, APP_Y = "framework-y@2", "app-y@1"


def publish_other_stack(root: Path) -> Path:
    """Publish a second stack on the same runtime, with its own framework and app."""
    layers = make_layers(root / "build-y")
    framework = layers[FRAMEWORK].rename(layers[FRAMEWORK].with_name(FRAMEWORK_Y))
    app = layers[APP].rename(layers[APP].with_name(APP_Y))
    config = compute_layered_config(PY_VERSION, RUNTIME, [FRAMEWORK_Y], launch_module="x_app")
    (app / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    artifacts = root / "artifacts-y"
    artifacts.mkdir()
    entries = {}
    for name, path, was in [
        (RUNTIME, layers[RUNTIME], RUNTIME),
        (FRAMEWORK_Y, framework, FRAMEWORK),
        (APP_Y, app, APP),
    ]:
        entry = layer_metadata(artifacts, was, archive_layer(path, artifacts))
        entry["install_target"] = name
        entry["layer_name"] = name.split("@", maxsplit=1)[0]
        entries[name] = entry
    entries[APP_Y]["required_layers"] = [FRAMEWORK_Y]
    runtimes, frameworks, apps = [entries[RUNTIME]], [entries[FRAMEWORK_Y]], [entries[APP_Y]]
    write_manifest(
        artifacts,
        {"layers": {"runtimes": runtimes, "frameworks": frameworks, "applications": apps}},
    )
    return artifacts


def run_app(target: Path, install_target: str) -> str:
    python = target / install_target / "bin/python"
    return subprocess.run(
        [python, "-m", "x_app"], capture_output=True, text=True, check=True
    ).stdout


@contextlib.contextmanager
def deploying(artifacts: Path, target: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "venvstacks", "deploy", str(artifacts), "-t", str(target), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        process.communicate(timeout=120)


def test_two_stacks_deployed_at_once_take_turns_and_both_stay_recorded(tmp_path: Path) -> None:
    first, second = publish(tmp_path), publish_other_stack(tmp_path)
    target = tmp_path / "layers"
    with lock_holder(target, "deploy", "other") as holder:
        since = load_holder(target).since
        with (
            deploying(first, target, "--lock-timeout", "120") as one,
            deploying(second, target, "--lock-timeout", "120") as two,
        ):
            for process in (one, two):  # both wait for the holder, then for each other
                assert process.stderr is not None
                assert process.stderr.readline() == (
                    f"Waiting for {target}: in use by pid {holder.pid} on host {HOST} "
                    f"(venvstacks deploy other) since {since}...\n"
                )
            holder.stdin.close()  # type: ignore[union-attr]
    assert (one.returncode, two.returncode) == (0, 0)
    record = json.loads((target / RECORD_NAME).read_text(encoding="utf-8"))["layers"]
    assert sorted(record) == sorted([RUNTIME, FRAMEWORK, APP, FRAMEWORK_Y, APP_Y])
    assert run_app(target, APP) == f"app framework-x v1 {target / APP}\n"
    assert run_app(target, APP_Y) == f"app framework-x v1 {target / APP_Y}\n"
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [RECORD_NAME, LOCK_NAME, RUNTIME, FRAMEWORK, APP, FRAMEWORK_Y, APP_Y]
    )


def test_two_deploys_at_once_without_waiting_both_finish_or_one_names_the_other(
    tmp_path: Path,
) -> None:
    first, second = publish(tmp_path), publish_other_stack(tmp_path)
    target = tmp_path / "layers"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "venvstacks", "deploy", str(artifacts), "-t", str(target)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for artifacts in (first, second)
    ]
    results = sorted((p.communicate(timeout=120)[1], p.returncode) for p in processes)
    record = json.loads((target / RECORD_NAME).read_text(encoding="utf-8"))["layers"]
    if results[-1][0]:  # they overlapped: the one that came second names the first
        assert results[0] == ("", 0)
        assert results[1][1] == 1
        assert results[1][0].startswith(f"error: {target}: in use by pid ")
        assert results[1][0].count("\n") == 1
    else:  # the second started after the first had finished
        assert results == [("", 0), ("", 0)]
        assert sorted(record) == sorted([RUNTIME, FRAMEWORK, APP, FRAMEWORK_Y, APP_Y])


def test_a_held_target_is_left_alone(tmp_path: Path) -> None:
    artifacts = publish(tmp_path)
    target = tmp_path / "layers"
    with lock_holder(target, "deploy", "x") as holder:
        before = snapshot(target)
        proc = venvstacks("deploy", artifacts, "--target", target)
        assert snapshot(target) == before
    since = before[HOLDER_NAME]
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith(
        f"error: {target}: in use by pid {holder.pid} on host {HOST} (venvstacks deploy x) since "
    )
    assert since  # the description the message was read from
    assert proc.stderr.endswith(
        "; wait for it to finish, or pass --lock-timeout SECONDS to wait for it\n"
    )


def test_a_killed_deployment_does_not_block_the_next(tmp_path: Path) -> None:
    artifacts = publish(tmp_path)
    target = tmp_path / "layers"
    with lock_holder(target, "deploy") as holder:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        proc = venvstacks("deploy", artifacts, "--target", target)
    assert proc.returncode == 0, proc.stderr
    assert not (target / HOLDER_NAME).exists()


def test_a_file_in_the_way_of_the_target(tmp_path: Path) -> None:
    artifacts = publish(tmp_path)
    (tmp_path / "some-file").write_text("", encoding="utf-8")
    proc = venvstacks("deploy", artifacts, "--target", tmp_path / "some-file" / "sub")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: {tmp_path / 'some-file' / 'sub'}: not a directory; a file is in the way where a "
        "folder is needed; move it or choose another path\n"
    )


def test_a_record_that_cannot_be_written_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "layers"
    assert venvstacks("deploy", publish(tmp_path), "--target", target).returncode == 0
    (target / RECORD_NAME).unlink()
    (target / RECORD_NAME).mkdir()  # every layer is deployed again; the record can't be replaced
    before = snapshot(target)
    proc = venvstacks("deploy", publish(tmp_path, version="v2"), "--target", target)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: {target / RECORD_NAME}: is a directory; a folder is in the way where a file is "
        "needed; move it or choose another path\n"
    )
    assert snapshot(target) == before
    assert run_app(target, APP) == f"app framework-x v1 {target / APP}\n"


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """Mount a tiny tmpfs and fill it up (needs root and a working ``mount``; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mount_cmd, umount_cmd = shutil.which("mount"), shutil.which("umount")
    if os.geteuid() != 0 or mount_cmd is None or umount_cmd is None:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(
        [mount_cmd, "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.decode(errors='replace').strip()}")
    try:
        (mount / "target").mkdir()
        with contextlib.suppress(OSError), (mount / "filler").open("wb") as stream:
            while True:
                stream.write(b"\0" * 4096)
                stream.flush()
        yield mount
    finally:
        subprocess.run([umount_cmd, str(mount)], check=False)


def test_a_full_disk_is_one_line(tmp_path: Path, full_disk: Path) -> None:
    target = full_disk / "target"
    proc = venvstacks("deploy", publish(tmp_path), "--target", target)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: {target / HOLDER_NAME}: no space left on device; the disk is full; "
        "free some space and run the command again\n"
    )
    assert sorted(p.name for p in target.iterdir()) == [LOCK_NAME]
