"""Building runtime layers with real uv from a mirror of packed local CPythons."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Load
from venvstacks.builder.runtime import build_runtime_layer
from venvstacks.errors import BuildError, RuntimeSourceError
from venvstacks.runtimes.install import RuntimeSource
from venvstacks.spec.graph import Layer

pytestmark = pytest.mark.slow


def _runtime(load: Load, implementation: str, requirements: str = "[]") -> Layer:
    spec = load(
        f"""
        [[runtimes]]
        name = "cpython-rt"
        python_implementation = "{implementation}"
        requirements = {requirements}
        """
    )
    return spec.graph.layers[0]


def _python_says(python: Path, code: str) -> str:
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_runtime_layer_from_mirror_runs_after_copying(
    load: Load, python_mirror: Path, tmp_path: Path
) -> None:
    layer = _runtime(load, "cpython@3.11")  # the newest 3.11 the mirror has
    build_dir = tmp_path / "_build"
    built = build_runtime_layer(layer, build_dir, RuntimeSource(python_mirror))
    assert built.path == build_dir / "cpython-rt"
    assert built.py_version.startswith("3.11.")
    assert sorted(p.name for p in build_dir.iterdir()) == ["cpython-rt"]  # nothing half-built
    layer_dir = built.path
    assert not (layer_dir / "BUILD").exists()
    assert not (layer_dir / "lib/python3.11/EXTERNALLY-MANAGED").exists()
    config = json.loads((layer_dir / "share/venv/metadata/venvstacks_layer.json").read_text())
    assert config == {
        "base_python": "bin/python",
        "dynlib_dirs": [],
        "py_version": built.py_version,
        "pylib_dirs": [],
        "python": "bin/python",
        "site_dir": "lib/python3.11/site-packages",
    }
    # No trace of the build folder anywhere (the build checks this too).
    needle = str(build_dir).encode()
    assert [p for p in layer_dir.rglob("*") if p.is_file() and needle in p.read_bytes()] == []

    # Deploy by copying elsewhere and running post-install with the layer's own Python.
    deployed = tmp_path / "elsewhere" / "cpython-rt"
    shutil.copytree(layer_dir, deployed, symlinks=True)
    shutil.rmtree(build_dir)
    python = deployed / config["python"]
    subprocess.run([python, "-X", "utf8", "-I", deployed / "postinstall.py"], check=True)
    assert list((deployed / "lib/python3.11").glob("__pycache__/os.cpython-311.pyc"))
    assert _python_says(python, "import sys, ssl, sqlite3; print(sys.prefix)") == str(deployed)


def test_exact_version_and_layer_replacement(
    load: Load, python_mirror: Path, tmp_path: Path
) -> None:
    build_dir = tmp_path / "_build"
    built = build_runtime_layer(
        _runtime(load, "cpython@3.12"), build_dir, RuntimeSource(python_mirror)
    )
    exact = f"cpython@{built.py_version}"
    rebuilt = build_runtime_layer(_runtime(load, exact), build_dir, RuntimeSource(python_mirror))
    assert rebuilt.py_version == built.py_version
    assert _python_says(rebuilt.python, "import platform; print(platform.python_version())") == (
        built.py_version
    )
    assert sorted(p.name for p in build_dir.iterdir()) == ["cpython-rt"]


def test_version_missing_from_mirror(load: Load, python_mirror: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeSourceError) as caught:
        build_runtime_layer(
            _runtime(load, "cpython@3.9"), tmp_path / "_build", RuntimeSource(python_mirror)
        )
    message = str(caught.value)
    assert message.startswith(
        f"python mirror {python_mirror}: no cpython@3.9 archive for x86_64-unknown-linux-gnu (it has 3.11."
    )
    assert message.endswith(
        f"); add one, e.g. with 'venvstacks python pack --output-dir {python_mirror}'"
    )
    assert ", 3.12." in message
    assert list((tmp_path / "_build").iterdir()) == []


def test_corrupt_archive_keeps_previous_build(
    load: Load, python_mirror: Path, tmp_path: Path
) -> None:
    layer = _runtime(load, "cpython@3.11")
    build_dir = tmp_path / "_build"
    good = build_runtime_layer(layer, build_dir, RuntimeSource(python_mirror))

    broken_mirror = tmp_path / "broken-mirror"
    broken_mirror.mkdir()
    (archive,) = python_mirror.glob("cpython-3.11.*.tar.gz")
    data = archive.read_bytes()
    (broken_mirror / archive.name).write_bytes(data[: len(data) // 2])  # truncated download

    with pytest.raises(RuntimeSourceError) as caught:
        build_runtime_layer(layer, build_dir, RuntimeSource(broken_mirror))
    message = str(caught.value)
    assert message.startswith(
        f"cpython-rt: installing cpython@3.11 from {broken_mirror / archive.name} failed ("
    )
    assert message.endswith(
        "); the archive may be corrupt or truncated: replace it (re-download or re-pack it)"
    )
    assert caught.value.output  # uv's own explanation, shown under --verbose
    # The previous build is untouched and still works; no staging folder is left.
    assert sorted(p.name for p in build_dir.iterdir()) == ["cpython-rt"]
    assert _python_says(good.python, "print('still here')") == "still here"


def test_no_network_and_no_mirror(
    load: Load, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 9: the same failure as having no network, without waiting.
    monkeypatch.setenv("UV_PYTHON_INSTALL_MIRROR", "http://127.0.0.1:9")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    with pytest.raises(RuntimeSourceError) as caught:
        build_runtime_layer(_runtime(load, "cpython@3.11.7"), tmp_path / "_build", RuntimeSource())
    assert str(caught.value) == (
        "cpython-rt: could not download cpython@3.11.7 (no network access to "
        "python-build-standalone?); pass --python-mirror DIR (or set VENVSTACKS_PYTHON_MIRROR) "
        "to install from a folder of python-build-standalone archives; 'venvstacks python pack "
        "--output-dir DIR' makes one from a local CPython"
    )
    assert list((tmp_path / "_build").iterdir()) == []


def test_runtime_packages_need_a_lock(load: Load, python_mirror: Path, tmp_path: Path) -> None:
    layer = _runtime(load, "cpython@3.11", requirements='["numpy"]')
    with pytest.raises(BuildError) as caught:
        build_runtime_layer(layer, tmp_path / "_build", RuntimeSource(python_mirror))
    assert str(caught.value) == (
        "cpython-rt: requirements: installing a runtime layer's own packages needs its lock; "
        "run 'venvstacks lock' first"
    )
