from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import IO

import pytest
import zstandard

from venvstacks import compression
from venvstacks.archives import ArchiveFormat, collect_entries, write_archive, write_tar_gz


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


def test_entries_are_ordered_and_normalised(tmp_path: Path) -> None:
    # Folders first, then files and symlinks grouped by suffix ("" < "txt"), by path.
    _make_tree(tmp_path / "tree", 1_000_000_000)
    archive = tmp_path / "out.tar.gz"
    write_tar_gz(tmp_path / "tree", archive, root_name="python", mtime_clamp=1_700_000_000)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    assert [(m.name, oct(m.mode), m.uid, m.uname, m.mtime) for m in members] == [
        ("python", "0o755", 0, "root", 1_000_000_000),
        ("python/bin", "0o755", 0, "root", 1_000_000_000),
        ("python/empty", "0o755", 0, "root", 1_000_000_000),
        ("python/lib", "0o755", 0, "root", 1_000_000_000),
        ("python/bin/tool", "0o755", 0, "root", 1_000_000_000),
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


FORMATS: tuple[ArchiveFormat, ...] = ("tar.xz", "tar.gz", "tar.zst", "zip")


def _make_rich_tree(root: Path) -> None:
    """Make a tree with files larger than the (shrunk) blocks, links, empty files, UTF-8 names."""
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    words = [rng.randbytes(rng.randint(2, 10)).hex().encode() for _ in range(300)]
    _make_tree(root, 1_000_000_000)
    for index in range(12):
        folder = root / "pkg" / f"mod{index % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{index}.py").write_bytes(b" ".join(rng.choices(words, k=800 * index)))
        (folder / f"blob{index}.bin").write_bytes(rng.randbytes(1000 * index))
    (root / "pkg" / "empty.txt").write_bytes(b"")
    (root / "pkg" / "caf\u00e9.txt").write_text("caf\u00e9")
    (root / "pkg" / "up").symlink_to("../lib")
    for path in [*root.rglob("*"), root]:
        os.utime(path, (1_000_000_000, 1_000_000_000), follow_symlinks=False)


def _tree_state(root: Path) -> dict[str, tuple[str, object]]:
    state: dict[str, tuple[str, object]] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            state[name] = ("link", str(path.readlink()))
        elif path.is_dir():
            state[name] = ("dir", None)
        else:
            state[name] = (oct(path.stat().st_mode & 0o111), path.read_bytes())
    return state


def _write(tree: Path, archive: Path, archive_format: ArchiveFormat, threads: int) -> Path:
    write_archive(
        collect_entries(tree),
        archive,
        root_name="layer",
        archive_format=archive_format,
        mtime_clamp=1_700_000_000,
        threads=threads,
    )
    return archive


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 32 KiB, so a small tree is written as many independent streams/members."""
    monkeypatch.setattr(compression, "XZ_BLOCK_SIZE", 32 << 10)
    monkeypatch.setattr(compression, "GZIP_BLOCK_SIZE", 32 << 10)


@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize("archive_format", FORMATS)
def test_archives_are_identical_for_one_and_many_threads_and_unpack_to_the_tree(
    tmp_path: Path, archive_format: ArchiveFormat
) -> None:
    tree = tmp_path / "tree"
    _make_rich_tree(tree)
    one = _write(tree, tmp_path / f"one.{archive_format}", archive_format, threads=1)
    many = _write(tree, tmp_path / f"many.{archive_format}", archive_format, threads=5)
    assert one.read_bytes() == many.read_bytes()
    if archive_format == "tar.xz":
        assert one.read_bytes().count(b"\xfd7zXZ\x00") > 3  # really several streams
    # Python's readers see the whole tree.
    python_dir = tmp_path / "python"
    if archive_format == "zip":
        with zipfile.ZipFile(one) as opened:
            assert opened.testzip() is None
            names = {name.removeprefix("layer/").rstrip("/") for name in opened.namelist()}
            assert opened.read("layer/pkg/up") == b"../lib"  # Info-ZIP symlink
        assert names == {"", *_tree_state(tree)}
    else:
        mode = {"tar.xz": "r:xz", "tar.gz": "r:gz", "tar.zst": "r|"}[archive_format]
        with one.open("rb") as raw, contextlib.ExitStack() as stack:
            fileobj: IO[bytes] = raw
            if archive_format == "tar.zst":
                decompressor = zstandard.ZstdDecompressor()
                fileobj = stack.enter_context(decompressor.stream_reader(raw))
            tar = stack.enter_context(tarfile.open(fileobj=fileobj, mode=mode))  # type: ignore[call-overload]
            tar.extractall(python_dir, filter="fully_trusted")  # noqa: S202 - our own archive
        assert _tree_state(python_dir / "layer") == _tree_state(tree)
    # So do the standard command-line tools.
    tools_dir = tmp_path / "tools"
    tools_dir.mkdir()
    if archive_format == "zip":
        unzip = shutil.which("unzip")
        if unzip is None:  # not installed everywhere; Python's zipfile checked it above
            return
        subprocess.run([unzip, "-tq", one], check=True, capture_output=True)
        subprocess.run([unzip, "-q", one, "-d", tools_dir], check=True)
    else:
        flag = {"tar.xz": "-J", "tar.gz": "-z", "tar.zst": "--zstd"}[archive_format]
        test = {"tar.xz": ["xz", "-t"], "tar.gz": ["gzip", "-t"], "tar.zst": ["zstd", "-tq"]}
        command = test[archive_format]
        subprocess.run([_tool(command[0]), *command[1:], one], check=True, capture_output=True)
        subprocess.run([_tool("tar"), flag, "-xf", one, "-C", tools_dir], check=True)
    assert _tree_state(tools_dir / "layer") == _tree_state(tree)


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} must be installed to run this test (standard on Debian)"
    return path


@pytest.mark.usefixtures("small_blocks")
def test_tar_gz_for_python_mirrors_is_one_gzip_member(tmp_path: Path) -> None:
    # uv stops reading a python-build-standalone archive at the end of the first member.
    _make_rich_tree(tmp_path / "tree")
    write_tar_gz(tmp_path / "tree", tmp_path / "python.tar.gz", root_name="python")
    data = (tmp_path / "python.tar.gz").read_bytes()
    member = zlib.decompressobj(wbits=31)
    assert len(member.decompress(data)) > 10 * compression.GZIP_BLOCK_SIZE
    assert member.eof
    assert member.unused_data == b""
