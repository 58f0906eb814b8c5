"""Shared libraries of a lower layer, loaded by name from an upper layer (Linux)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_build import deploy, launch
from tests.cli.test_lock import venvstacks
from tests.wheel_factory import make_wheel

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sys.platform != "linux" or shutil.which("gcc") is None, reason="needs Linux and gcc"
    ),
]

SPEC = """\
[[runtimes]]
name = "cpython-3.11"
python_implementation = "cpython@3.11"
requirements = []
platforms = ["linux_x86_64"]

[[frameworks]]
name = "native"
runtime = "cpython-3.11"
requirements = ["vsnative"]

[[applications]]
name = "answer"
launch_module = "answer.py"
frameworks = ["native"]
requirements = []
"""


def _shared_library(tmp_path: Path, body: str) -> bytes:
    source = tmp_path / "lib.c"
    source.write_text(body)
    output = tmp_path / "lib.so"
    gcc = shutil.which("gcc")
    assert gcc is not None
    subprocess.run([gcc, "-shared", "-fPIC", "-o", output, source], check=True)
    return output.read_bytes()


def test_upper_layer_loads_a_lower_layers_library_by_name(
    tmp_path: Path, python_mirror: Path
) -> None:
    project = tmp_path / "project"
    library = _shared_library(tmp_path, "int vs_answer(void) { return 42; }\n")
    make_wheel(
        project / "wheels", "vsnative", "1.0", tag="py3-none-linux_x86_64",
        files={"vsnative/lib/libvsanswer.so.1": library},
    )  # fmt: skip
    (project / "answer.py").write_text(
        "import ctypes\nprint(ctypes.CDLL('libvsanswer.so.1').vs_answer())\n"
    )
    (project / "venvstacks.toml").write_text(SPEC)
    for command in ("lock", "build"):
        proc = venvstacks(project, command, "--python-mirror", str(python_mirror))
        assert proc.returncode == 0, proc.stderr
    links = sorted(
        p.name for p in (project / "_build/framework-native/share/venv/dynlib").iterdir()
    )
    assert links == ["libvsanswer.so.1"]
    assert launch(project / "_build" / "app-answer") == "42\n"
    deployed = tmp_path / "deployed"
    deploy(project, deployed)
    shutil.rmtree(project / "_build")
    assert launch(deployed / "app-answer") == "42\n"


def test_same_library_name_from_different_files_is_a_conflict(
    tmp_path: Path, python_mirror: Path
) -> None:
    project = tmp_path / "project"
    one = _shared_library(tmp_path, "int vs_one(void) { return 1; }\n")
    two = _shared_library(tmp_path, "int vs_two(void) { return 2; }\n")
    files = {
        "vsnative/a/libdup.so": one,
        "vsnative/b/libdup.so": two,
        "vsnative/c/libsame.so": one,
        "vsnative/d/libsame.so": one,
    }
    make_wheel(project / "wheels", "vsnative", "1.0", tag="py3-none-linux_x86_64", files=files)
    (project / "answer.py").write_text("")
    (project / "venvstacks.toml").write_text(SPEC)
    proc = venvstacks(project, "lock", "--python-mirror", str(python_mirror))
    assert proc.returncode == 0, proc.stderr
    proc = venvstacks(project, "build", "--python-mirror", str(python_mirror))
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: framework-native: shared libraries with the same name come from different files "
        "(libdup.so from vsnative/a/libdup.so, vsnative/b/libdup.so); add the ones upper layers "
        "don't need to dynlib_exclude\n"
    )
