from __future__ import annotations

import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from venvstacks.archives import collect_entries, write_archive, write_tar_gz


def _make_tree(root: Path, mtime: int) -> None:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "tool").write_text("#!/bin/sh\n")
    (root / "bin" / "tool").chmod(0o775)
    (root / "lib").mkdir()
    (root / "lib" / "data.txt").write_text("data")
    (root / "lib" / "data.txt").chmod(0o666)
    (root / "lib" / "link.txt").symlink_to("data.txt")
    (root / "empty").mkdir()
    for path in [*root.rglob("*"), root]:
        os.utime(path, (mtime, mtime), follow_symlinks=False)


def test_same_tree_gives_same_bytes(tmp_path: Path) -> None:
    # Two copies made at different times, with different mtimes newer than the clamp.
    _make_tree(tmp_path / "a", 2_000_000_000)
    _make_tree(tmp_path / "b", 2_100_000_000)
    write_tar_gz(
        tmp_path / "a", tmp_path / "a.tar.gz", root_name="python", mtime_clamp=1_700_000_000
    )
    write_tar_gz(
        tmp_path / "b", tmp_path / "b.tar.gz", root_name="python", mtime_clamp=1_700_000_000
    )
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()


def test_entries_are_sorted_and_normalised(tmp_path: Path) -> None:
    _make_tree(tmp_path / "tree", 1_000_000_000)
    archive = tmp_path / "out.tar.gz"
    write_tar_gz(tmp_path / "tree", archive, root_name="python", mtime_clamp=1_700_000_000)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    assert [(m.name, oct(m.mode), m.uid, m.uname, m.mtime) for m in members] == [
        ("python", "0o755", 0, "root", 1_000_000_000),
        ("python/bin", "0o755", 0, "root", 1_000_000_000),
        ("python/bin/tool", "0o755", 0, "root", 1_000_000_000),
        ("python/empty", "0o755", 0, "root", 1_000_000_000),
        ("python/lib", "0o755", 0, "root", 1_000_000_000),
        ("python/lib/data.txt", "0o644", 0, "root", 1_000_000_000),
        ("python/lib/link.txt", "0o777", 0, "root", 1_000_000_000),
    ]
    assert members[-1].issym()
    assert members[-1].linkname == "data.txt"
    assert not list(tmp_path.glob(".out.tar.gz.*"))  # no temporary file left


def test_failed_write_keeps_previous_archive(tmp_path: Path) -> None:
    archive = tmp_path / "out.tar.gz"
    archive.write_bytes(b"previous")
    (tmp_path / "tree").mkdir()
    os.mkfifo(tmp_path / "tree" / "fifo")
    with pytest.raises(ValueError, match="only files, folders and symlinks"):
        write_tar_gz(tmp_path / "tree", archive, root_name="python")
    assert archive.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tar.gz", "tree"]


def test_zip_compresses_files_and_stores_folders_and_links(tmp_path: Path) -> None:
    _make_tree(tmp_path / "tree", 1_000_000_000)
    (tmp_path / "tree" / "lib" / "data.txt").write_text("data " * 1000)
    archive = tmp_path / "out.zip"
    write_archive(
        collect_entries(tmp_path / "tree"),
        archive,
        root_name="python",
        archive_format="zip",
        mtime_clamp=1_700_000_000,
    )
    with zipfile.ZipFile(archive) as opened:
        members = {m.filename: m for m in opened.infolist()}
    assert {name: m.compress_type for name, m in members.items()} == {
        "python/": zipfile.ZIP_STORED,
        "python/bin/": zipfile.ZIP_STORED,
        "python/bin/tool": zipfile.ZIP_DEFLATED,
        "python/empty/": zipfile.ZIP_STORED,
        "python/lib/": zipfile.ZIP_STORED,
        "python/lib/data.txt": zipfile.ZIP_DEFLATED,
        "python/lib/link.txt": zipfile.ZIP_STORED,  # Info-ZIP symlink: the target as content
    }
    assert members["python/lib/data.txt"].compress_size < 100
    assert oct(members["python/bin/tool"].external_attr >> 16) == "0o100755"
