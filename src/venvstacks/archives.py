"""Reproducible archives: the same content always gives the same bytes.

Entries are written in sorted order under one root folder, owned by root,
with normalised modes (0o755 for folders and executables, 0o644 otherwise) and
mtimes clamped to a given time.  Symlinks are stored as symlinks.  Compressors
run with fixed settings and no embedded timestamps or file names (zstd runs
multi-threaded, whose output does not depend on the number of threads).  The
archive is written under a temporary name and renamed into place, so an
interrupted run never leaves a partial archive under the final name.

Formats: ``tar.gz``, ``tar.xz``, ``tar.zst`` and ``zip``.
"""

from __future__ import annotations

import contextlib
import gzip
import lzma
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Literal, cast

import zstandard

from venvstacks.fs import atomic_output

ArchiveFormat = Literal["tar.gz", "tar.xz", "tar.zst", "zip"]
ARCHIVE_FORMATS: tuple[ArchiveFormat, ...] = ("tar.xz", "tar.zst", "tar.gz", "zip")
GZIP_LEVEL = 6
ZSTD_LEVEL = 10
_ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can hold


def iter_tree(root: Path) -> Iterator[Path]:
    """Yield every entry below *root* (not *root* itself), sorted, parents first.

    Symlinks to folders are yielded but not followed.
    """
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        yield entry
        if entry.is_dir() and not entry.is_symlink():
            yield from iter_tree(entry)


@dataclass(frozen=True)
class ArchiveEntry:
    """One archive member: a folder, a file (from disk or given bytes) or a symlink."""

    name: PurePosixPath
    kind: Literal["dir", "file", "symlink"]
    mtime: int
    executable: bool = False
    source: Path | None = None
    data: bytes | None = None
    target: str = ""

    def read(self) -> bytes:
        """Return a file entry's content."""
        if self.data is not None:
            return self.data
        assert self.source is not None  # noqa: S101 - file entries have one or the other
        return self.source.read_bytes()

    @property
    def size(self) -> int:
        """A file entry's size in bytes."""
        if self.data is not None:
            return len(self.data)
        return self.source.stat().st_size if self.source is not None else 0


def collect_entries(
    root: Path,
    *,
    exclude: Callable[[PurePosixPath], bool] = lambda _: False,
    replace: Mapping[PurePosixPath, ArchiveEntry] | None = None,
) -> list[ArchiveEntry]:
    """List the entries of the folder *root*, minus *exclude*d paths, with some *replace*d.

    Paths are relative to *root*.  A replacement may also add a new path.
    """
    replace = dict(replace or {})
    entries: list[ArchiveEntry] = []
    skipped: list[PurePosixPath] = []
    for path in iter_tree(root):
        name = PurePosixPath(path.relative_to(root).as_posix())
        if any(name.is_relative_to(s) for s in skipped) or exclude(name):
            skipped.append(name)
            continue
        if name in replace:
            entries.append(replace.pop(name))
            continue
        st = path.lstat()
        mtime = int(st.st_mtime)
        if stat.S_ISLNK(st.st_mode):
            entries.append(ArchiveEntry(name, "symlink", mtime, target=str(path.readlink())))
        elif stat.S_ISDIR(st.st_mode):
            entries.append(ArchiveEntry(name, "dir", mtime))
        elif stat.S_ISREG(st.st_mode):
            executable = bool(st.st_mode & 0o111)
            entries.append(ArchiveEntry(name, "file", mtime, executable, source=path))
        else:
            raise ValueError(f"{path}: only files, folders and symlinks can be archived")
    entries.extend(replace.values())
    return sorted(entries, key=lambda e: e.name.parts)


def _clamp(mtime: int, clamp: int | None) -> int:
    return mtime if clamp is None else min(mtime, clamp)


def _tar_info(entry: ArchiveEntry | None, arcname: str, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = mtime
    if entry is None or entry.kind == "dir":
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    elif entry.kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = entry.target
        info.mode = 0o777
    else:
        info.size = entry.size
        info.mode = 0o755 if entry.executable else 0o644
    return info


def write_tar_entries(
    stream: IO[bytes],
    entries: Iterable[ArchiveEntry],
    *,
    root_name: str,
    mtime_clamp: int | None,
    root_mtime: int,
) -> None:
    """Write an uncompressed tar of *entries* (as ``root_name/…``) to *stream*."""
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_tar_info(None, root_name, _clamp(root_mtime, mtime_clamp)))
        for entry in entries:
            info = _tar_info(entry, f"{root_name}/{entry.name}", _clamp(entry.mtime, mtime_clamp))
            if entry.kind == "file":
                if entry.data is not None:
                    tar.addfile(info, _BytesReader(entry.data))
                else:
                    assert entry.source is not None  # noqa: S101
                    with entry.source.open("rb") as content:
                        tar.addfile(info, content)
            else:
                tar.addfile(info)


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._offset + size
        chunk = self._data[self._offset : end].tobytes()
        self._offset += len(chunk)
        return chunk


def _write_zip(
    raw: IO[bytes],
    entries: Iterable[ArchiveEntry],
    root_name: str,
    mtime_clamp: int | None,
    root_mtime: int,
) -> None:
    import time  # noqa: PLC0415 - only zip archives need calendar conversion

    def info(name: str, mtime: int, mode: int) -> zipfile.ZipInfo:
        stamp = time.gmtime(max(_clamp(mtime, mtime_clamp), _ZIP_EPOCH))[:6]
        member = zipfile.ZipInfo(name, date_time=stamp)
        member.external_attr = mode << 16
        member.create_system = 3  # Unix: external_attr holds the mode
        # writestr() takes the compression from the ZipInfo, not from the ZipFile.
        member.compress_type = zipfile.ZIP_DEFLATED if stat.S_ISREG(mode) else zipfile.ZIP_STORED
        return member

    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(info(f"{root_name}/", root_mtime, stat.S_IFDIR | 0o755), b"")
        for entry in entries:
            name = f"{root_name}/{entry.name}"
            if entry.kind == "dir":
                archive.writestr(info(f"{name}/", entry.mtime, stat.S_IFDIR | 0o755), b"")
            elif entry.kind == "symlink":  # Info-ZIP convention: the target is the content
                member = info(name, entry.mtime, stat.S_IFLNK | 0o777)
                archive.writestr(member, entry.target.encode(), compress_type=zipfile.ZIP_STORED)
            else:
                mode = 0o755 if entry.executable else 0o644
                archive.writestr(info(name, entry.mtime, stat.S_IFREG | mode), entry.read())


def write_archive(
    entries: Iterable[ArchiveEntry],
    destination: Path,
    *,
    root_name: str,
    archive_format: ArchiveFormat,
    mtime_clamp: int | None = None,
    root_mtime: int = 0,
) -> None:
    """Write a reproducible archive of *entries* under the top folder *root_name*."""
    with atomic_output(destination) as raw, contextlib.ExitStack() as stack:
        if archive_format == "zip":
            _write_zip(raw, entries, root_name, mtime_clamp, root_mtime)
            return
        stream: IO[bytes]
        if archive_format == "tar.gz":
            # No file name and a zero timestamp in the gzip header (like `gzip -n`).
            gz = gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL
            )
            stream = cast("IO[bytes]", stack.enter_context(gz))
        elif archive_format == "tar.xz":
            stream = stack.enter_context(lzma.LZMAFile(raw, "wb", preset=6))
        else:
            compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1)
            stream = stack.enter_context(compressor.stream_writer(raw, closefd=False))
        write_tar_entries(
            stream, entries, root_name=root_name, mtime_clamp=mtime_clamp, root_mtime=root_mtime
        )


def write_tar_gz(
    source: Path, destination: Path, *, root_name: str, mtime_clamp: int | None = None
) -> None:
    """Write a reproducible ``.tar.gz`` of the folder *source* to *destination*."""
    write_archive(
        collect_entries(source),
        destination,
        root_name=root_name,
        archive_format="tar.gz",
        mtime_clamp=mtime_clamp,
        root_mtime=int(source.stat().st_mtime),
    )
