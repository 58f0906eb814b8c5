"""``venvstacks cache dir | info | clean`` run as a user would, on a cache folder of ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cache import make_cache


def venvstacks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venvstacks", *args], capture_output=True, text=True, check=False
    )


def test_dir_info_and_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cache"
    monkeypatch.setenv("VENVSTACKS_CACHE_DIR", str(root))
    assert venvstacks("cache", "dir").stdout == f"{root}\n"
    assert venvstacks("cache", "info").stdout.splitlines()[0] == (
        f"Cache folder: {root} (not created yet)"
    )
    make_cache(root)
    monkeypatch.setenv("VENVSTACKS_CACHE_MAX_SIZE", "1M")
    assert venvstacks("cache", "info").stdout.splitlines() == [
        f"Cache folder: {root}",
        "Bytecode: 3 files, 200 B",
        "Runtimes: 1 extracted, 1000 B",
        (
            "Total: 1.2 KiB of 1.0 MiB (least recently used entries are removed after a build; "
            "VENVSTACKS_CACHE_MAX_SIZE sets the bound)"
        ),
    ]
    proc = venvstacks("cache", "clean")
    assert proc.stdout.splitlines() == [
        f"Cleared the cache at {root}",
        "Removed 3 bytecode files and 1 runtimes (1.2 KiB)",
    ]
    assert not (root / "pyc-v1").exists()
    assert not (root / "runtimes-v1").exists()


def test_a_bad_size_bound_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENVSTACKS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("VENVSTACKS_CACHE_MAX_SIZE", "big")
    proc = venvstacks("cache", "info")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: VENVSTACKS_CACHE_MAX_SIZE: 'big' is not a size (examples: 2G, 500M, 1048576)\n"
    )


def test_an_unusable_cache_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_the_way = tmp_path / "file"
    in_the_way.write_text("")
    monkeypatch.setenv("VENVSTACKS_CACHE_DIR", str(in_the_way / "cache"))
    (tmp_path / "venvstacks.toml").write_text(
        '[[runtimes]]\nname = "cpython-3.11"\npython_implementation = "cpython@3.11"\n'
        "requirements = []\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "venvstacks", "lock", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: {in_the_way / 'cache'}: can't create the venvstacks cache folder (Not a "
        "directory); set VENVSTACKS_CACHE_DIR to a writable folder, or pass --no-cache\n"
    )
