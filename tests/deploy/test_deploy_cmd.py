"""``venvstacks deploy`` as a user runs it (a subprocess), and its rendering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.stacks import APP, FRAMEWORK, RUNTIME, Layers, publish
from venvstacks.cli.deploy_cmd import render_deploy_json, render_deploy_text
from venvstacks.deploy import DeployedApp, DeployResult

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake runtime is a bash script")


def venvstacks(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venvstacks", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_deploy_prints_what_it_did_and_how_to_launch(tmp_path: Path) -> None:
    artifacts = publish(tmp_path, "tar.zst")
    target = tmp_path / "layers"
    proc = venvstacks("deploy", artifacts, "--target", target)
    assert proc.returncode == 0, proc.stderr
    python = target / APP / "bin/python"
    assert proc.stdout == (
        f"Deployed to {target}:\n"
        f"  {RUNTIME}   deployed\n"
        f"  {FRAMEWORK}  deployed\n"
        f"  {APP}        deployed\n"
        "Launch the applications with:\n"
        f"  {APP}: {python} -m x_app\n"
    )
    assert proc.stderr == ""
    run = subprocess.run([python, "-m", "x_app"], capture_output=True, text=True, check=True)
    assert run.stdout == f"app framework-x v1 {target / APP}\n"

    again = venvstacks("deploy", artifacts, "--target", target, "--include", "app-*", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "target": str(target),
        "manifest": str(artifacts / "__venvstacks__/venvstacks.json"),
        "layers": [RUNTIME, FRAMEWORK, APP],
        "deployed": [],
        "unchanged": [RUNTIME, FRAMEWORK, APP],
        "applications": [
            {"layer_name": "app-x", "install_target": APP, "command": [str(python), "-m", "x_app"]}
        ],
    }
    assert venvstacks("-q", "deploy", artifacts, "-t", target).stdout == ""


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    artifacts = publish(tmp_path)
    (artifacts / f"{APP}.tar.xz").write_bytes(b"")
    proc = venvstacks("deploy", artifacts, "--target", tmp_path / "layers")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith(
        f"error: {APP}: archive {APP}.tar.xz has 0 bytes, the metadata says "
    )
    assert proc.stderr.endswith("; download it again\n")
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "layers").exists()

    proc = venvstacks("deploy", artifacts, "--target", tmp_path / "layers", "--include", "nope")
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: no layers in {artifacts / '__venvstacks__/venvstacks.json'} match 'nope' "
        f"(layers are: {RUNTIME}, framework-x, app-x)\n"
    )


def test_post_install_output_is_shown_with_verbose(tmp_path: Path) -> None:
    def break_app(layers: Layers) -> None:
        (layers[APP] / "postinstall.py").write_text(
            "print('step 1 ok')\nraise SystemExit('step 2 failed')\n"
        )

    artifacts = publish(tmp_path, change=break_app)
    target = tmp_path / "layers"
    proc = venvstacks("deploy", artifacts, "--target", target)
    assert proc.returncode == 1
    assert proc.stderr == f"error: {APP}: postinstall.py failed with exit code 1: step 2 failed\n"
    verbose = venvstacks("-v", "deploy", artifacts, "--target", target)
    assert verbose.returncode == 1
    assert "step 1 ok\n" in verbose.stderr
    assert verbose.stderr.endswith(
        f"step 2 failed\nerror: {APP}: postinstall.py failed with exit code 1: step 2 failed\n"
    )
    assert not target.exists()


def test_missing_target_option() -> None:
    proc = venvstacks("deploy", "artifacts")
    assert proc.returncode == 2
    assert "Missing option '--target'" in proc.stderr


RESULT = DeployResult(
    target=Path("/opt/layers"),
    manifest_path=Path("/a/__venvstacks__/venvstacks.json"),
    layers=("cpython-3.11", "framework-x@2", "app-x@1"),
    deployed=("framework-x@2", "app-x@1"),
    unchanged=("cpython-3.11",),
    apps=(DeployedApp("app-x", "app-x@1", ("/opt/my layers/app-x@1/bin/python", "-m", "x")),),
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell quoting")
def test_render_text() -> None:
    assert render_deploy_text(RESULT) == (
        "Deployed to /opt/layers:\n"
        "  cpython-3.11   unchanged\n"
        "  framework-x@2  deployed\n"
        "  app-x@1        deployed\n"
        "Launch the applications with:\n"
        "  app-x@1: '/opt/my layers/app-x@1/bin/python' -m x\n"
    )


def test_render_json() -> None:
    assert json.loads(render_deploy_json(RESULT)) == {
        "target": str(Path("/opt/layers")),
        "manifest": str(Path("/a/__venvstacks__/venvstacks.json")),
        "layers": ["cpython-3.11", "framework-x@2", "app-x@1"],
        "deployed": ["framework-x@2", "app-x@1"],
        "unchanged": ["cpython-3.11"],
        "applications": [
            {
                "layer_name": "app-x",
                "install_target": "app-x@1",
                "command": ["/opt/my layers/app-x@1/bin/python", "-m", "x"],
            }
        ],
    }


def test_leftovers_of_a_killed_deploy_are_removed_with_one_line(tmp_path: Path) -> None:
    artifacts = publish(tmp_path)
    target = tmp_path / "layers"
    assert venvstacks("deploy", artifacts, "--target", target).returncode == 0
    leftover = target / ".venvstacks-staging-killed/app-x@1/bin"
    leftover.mkdir(parents=True)
    (leftover / "python").write_bytes(b"x" * 260_000)
    proc = venvstacks("deploy", artifacts, "--target", target)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"recovered {target}: removed 1 leftover (0.3 MB)\n"
    assert not (target / ".venvstacks-staging-killed").exists()
    assert venvstacks("deploy", artifacts, "--target", target).stderr == ""
