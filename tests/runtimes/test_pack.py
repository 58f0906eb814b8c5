"""`venvstacks python pack` on this machine's real CPython 3.11 and 3.12 installations."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.runtimes.local_pythons import PACK_VERSIONS, require_local_python
from venvstacks.runtimes.archive_names import parse_archive_name
from venvstacks.tools.uv import find_uv

pytestmark = pytest.mark.slow

VENVSTACKS = [sys.executable, "-m", "venvstacks"]


def _archive_for(mirror: Path, minor: str) -> Path:
    (archive,) = mirror.glob(f"cpython-{minor}.*-install_only.tar.gz")
    return archive


def _can_hide_folders() -> bool:
    # A private mount namespace lets a test hide the original prefix from the loader.
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def _run_hiding(script: str, hidden: Path) -> subprocess.CompletedProcess[str]:
    """Run a shell script, with *hidden* replaced by an empty folder when the system allows."""
    if _can_hide_folders():
        script = f"mount -t tmpfs none '{hidden}' && test -z \"$(ls -A '{hidden}')\"\n{script}"
        args = ["unshare", "-m", "sh", "-euc", script]
    else:
        args = ["sh", "-euc", script]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}  # noqa: S108
    return subprocess.run(args, capture_output=True, text=True, check=False, env=env)


@pytest.mark.parametrize("minor", PACK_VERSIONS)
def test_packing_twice_gives_identical_bytes(
    minor: str, python_mirror: Path, tmp_path: Path
) -> None:
    python = require_local_python(minor)
    proc = subprocess.run(
        [*VENVSTACKS, "python", "pack", "--python", str(python), "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    original = _archive_for(python_mirror, minor)
    again = tmp_path / original.name
    assert proc.stdout.startswith(f"Packed CPython {minor}.")
    assert str(again) in proc.stdout
    assert again.read_bytes() == original.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [original.name]  # no staging left behind


@pytest.mark.parametrize("minor", PACK_VERSIONS)
def test_archive_contents(minor: str, python_mirror: Path) -> None:
    archive = _archive_for(python_mirror, minor)
    name = parse_archive_name(archive.name)
    assert name is not None
    assert (name.build, name.triple, name.flavor) == (
        "local",
        "x86_64-unknown-linux-gnu",
        "install_only",
    )
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    stdlib = f"python/lib/python{minor}"
    assert f"{stdlib}/os.py" in members
    assert f"{stdlib}/lib-dynload" in members
    assert not [n for n in members if "__pycache__" in n or n.startswith(f"{stdlib}/test/")]
    assert [n for n in members if n.startswith(f"{stdlib}/site-packages/")] == [
        f"{stdlib}/site-packages/README.txt"
    ]
    assert not [n for n in members if n.endswith(".a")]
    programs = {n.split("/")[-1] for n in members if n.startswith("python/bin/")}
    assert {"python", "python3", f"python{minor}", f"pydoc{minor}"} <= programs
    assert not [p for p in programs if p.startswith(("pip", "pytest"))]
    assert all(m.uid == 0 and m.uname == "root" for m in members.values())


@pytest.mark.parametrize("minor", PACK_VERSIONS)
def test_packed_runtime_runs_from_any_folder(
    minor: str, python_mirror: Path, tmp_path: Path
) -> None:
    original = require_local_python(minor)
    prefix = Path(
        subprocess.run(
            [original, "-c", "import sys; print(sys.base_prefix)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    archive = _archive_for(python_mirror, minor)
    for folder in (tmp_path / "first", tmp_path / "second" / "nested"):
        folder.mkdir(parents=True)
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="tar")
        python = folder / "python" / "bin" / "python3"
        script = f"""
            ldd '{python}' | grep libpython
            '{python}' -c 'import ssl, sqlite3, ctypes, lzma, sys; print("prefix", sys.prefix)'
            '{folder}/python/bin/pydoc{minor}' pydoc_data | head -1
            '{python}' -m venv '{folder}/venv'
            '{folder}/venv/bin/python' -c 'import ssl; print("venv ok")'
            '{find_uv()}' venv --quiet --no-config --python '{python}' '{folder}/uv-venv'
            '{folder}/uv-venv/bin/python' -c 'import sqlite3; print("uv venv ok")'
        """
        proc = _run_hiding(script, prefix)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        lines = proc.stdout.splitlines()
        assert f"=> {folder}/python/bin/../lib/libpython{minor}.so.1.0" in lines[0]
        assert lines[1] == f"prefix {folder}/python"
        assert "pydoc_data" in lines[2]
        assert lines[3:] == ["venv ok", "uv venv ok"]


def test_pack_refuses_what_is_not_a_cpython(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            *VENVSTACKS,
            "python",
            "pack",
            "--python",
            "/bin/sh",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: /bin/sh: not a working Python interpreter; pass --python a CPython executable\n"
    )
    proc = subprocess.run(
        [
            *VENVSTACKS,
            "python",
            "pack",
            "--python",
            str(tmp_path),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: {tmp_path}/bin/python3: no such interpreter; pass --python the path of a "
        "CPython executable or installation prefix\n"
    )
    assert not (tmp_path / "out").exists()
