from __future__ import annotations

import os
from pathlib import Path

from venvstacks.runtimes.cached import find_cached_runtime, link_tree, store_runtime


def make_runtime(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin/python3.11").write_text("interpreter")
    (root / "bin/python").symlink_to("python3.11")
    (root / "lib/python3.11/site-packages").mkdir(parents=True)
    (root / "lib/python3.11/os.py").write_text("stdlib")
    (root / "lib/python3.11/site-packages/README.txt").write_text("site")
    for path in root.rglob("*"):
        os.utime(path, (1000, 1000), follow_symlinks=False)
    return root


def test_stored_runtimes_are_linked_except_where_the_build_writes(tmp_path: Path) -> None:
    installed = make_runtime(tmp_path / "cache" / ".install" / "cpython")
    entry = tmp_path / "cache" / "key"
    assert store_runtime(installed, "3.11.7", entry)
    runtime, version = find_cached_runtime(entry) or (None, "")
    assert version == "3.11.7"
    assert runtime == entry / "runtime"
    layer = tmp_path / "layer"
    link_tree(entry / "runtime", layer)
    assert (layer / "lib/python3.11/os.py").samefile(entry / "runtime/lib/python3.11/os.py")
    assert not (layer / "bin/python3.11").samefile(entry / "runtime/bin/python3.11")
    site = "lib/python3.11/site-packages/README.txt"
    assert not (layer / site).samefile(entry / "runtime" / site)
    assert (layer / "bin/python").readlink() == Path("python3.11")
    # Fresh mtimes, as after an extraction (archives clamp them to the lock time).
    assert (layer / "lib/python3.11/os.py").stat().st_mtime > 1000
    assert (layer / site).stat().st_mtime > 1000


def test_a_second_store_of_the_same_entry_keeps_the_first(tmp_path: Path) -> None:
    entry = tmp_path / "cache" / "key"
    assert store_runtime(make_runtime(tmp_path / "cache" / ".a" / "cpython"), "3.11.7", entry)
    second = make_runtime(tmp_path / "cache" / ".b" / "cpython")
    assert not store_runtime(second, "3.11.7", entry)
    assert (second / "bin/python3.11").exists()  # left for the caller to use
    assert not [p for p in entry.parent.iterdir() if p.name.startswith(".key")]


def test_incomplete_entries_are_not_found(tmp_path: Path) -> None:
    assert find_cached_runtime(tmp_path / "missing") is None
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "version.txt").write_text("3.11.7\n")
    assert find_cached_runtime(tmp_path / "partial") is None
