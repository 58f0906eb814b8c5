"""Reproducible archives: the same folder always gives the same bytes.

Entries are written in sorted order under one root folder, owned by root,
with normalised modes (0o755 for folders and executables, 0o644 otherwise) and
mtimes clamped to a given time.  Symlinks are stored as symlinks.  Compressors
run with fixed settings and no embedded timestamps or file names.  The archive
is written under a temporary name and renamed into place, so an interrupted run
never leaves a partial archive under the final name.
"""

from __future__ import annotations

import contextlib
import gzip
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from venvstacks.fs import atomic_output

GZIP_LEVEL = 6


def iter_tree(root: Path) -> Iterator[Path]:
    """Yield every entry below *root* (not *root* itself), sorted, parents first.

    Symlinks to folders are yielded but not followed.
    """
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        yield entry
        if entry.is_dir() and not entry.is_symlink():
            yield from iter_tree(entry)


def _normalised_mode(st_mode: int) -> int:
    if stat.S_ISDIR(st_mode) or st_mode & 0o111:
        return 0o755
    return 0o644


def _tar_info(path: Path, arcname: str, mtime_clamp: int | None) -> tarfile.TarInfo:
    st = path.lstat()
    info = tarfile.TarInfo(arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    mtime = int(st.st_mtime)
    info.mtime = mtime if mtime_clamp is None else min(mtime, mtime_clamp)
    if stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = str(path.readlink())
        info.mode = 0o777
    elif stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    elif stat.S_ISREG(st.st_mode):
        info.size = st.st_size
        info.mode = _normalised_mode(st.st_mode)
    else:
        raise ValueError(f"{path}: only files, folders and symlinks can be archived")
    return info


def write_tar_entries(
    stream: IO[bytes] | gzip.GzipFile, source: Path, *, root_name: str, mtime_clamp: int | None
) -> None:
    """Write an uncompressed tar of *source* (as ``root_name/…``) to *stream*."""
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_tar_info(source, root_name, mtime_clamp))
        for path in iter_tree(source):
            arcname = f"{root_name}/{path.relative_to(source).as_posix()}"
            info = _tar_info(path, arcname, mtime_clamp)
            if info.isreg():
                with path.open("rb") as content:
                    tar.addfile(info, content)
            else:
                tar.addfile(info)


def write_tar_gz(
    source: Path, destination: Path, *, root_name: str, mtime_clamp: int | None = None
) -> None:
    """Write a reproducible ``.tar.gz`` of the folder *source* to *destination*."""
    with atomic_output(destination) as raw, contextlib.ExitStack() as stack:
        # No file name and a zero timestamp in the gzip header (like `gzip -n`).
        compressed = stack.enter_context(
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL)
        )
        write_tar_entries(compressed, source, root_name=root_name, mtime_clamp=mtime_clamp)
