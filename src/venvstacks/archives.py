"""Reproducible archives: the same content always gives the same bytes.

Entries are written in sorted order under one root folder, owned by root,
with normalised modes (0o755 for folders and executables, 0o644 otherwise) and
mtimes clamped to a given time.  Symlinks are stored as symlinks.  Compressors
run with fixed settings and no embedded timestamps or file names, on every
core, with output that does not depend on the number of threads (see
`venvstacks.compression` and `venvstacks.zipwriter`).  The archive is written
under a temporary name and renamed into place, so an interrupted run never
leaves a partial archive under the final name.

Formats: ``tar.gz``, ``tar.xz``, ``tar.zst`` and ``zip``.
"""

from __future__ import annotations

import contextlib
import functools
import stat
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from venvstacks.compression import (
    compute_thread_count,
    open_gzip_writer,
    open_xz_writer,
    open_zstd_writer,
)
from venvstacks.fs import atomic_output
from venvstacks.zipwriter import ZipMember, write_zip_members

ArchiveFormat = Literal["tar.gz", "tar.xz", "tar.zst", "zip"]
ARCHIVE_FORMATS: tuple[ArchiveFormat, ...] = ("tar.xz", "tar.zst", "tar.gz", "zip")


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


def _suffix(entry: ArchiveEntry) -> str:
    name = entry.name.name
    return name.rpartition(".")[2].lower() if "." in name else ""


def compute_tar_order(entries: Iterable[ArchiveEntry]) -> list[ArchiveEntry]:
    """Order tar members so that similar content sits together: it compresses better.

    Folders come first (sorted by path, so every folder precedes what is in it),
    then files and symlinks grouped by file name suffix (``.py``, ``.pyc``,
    ``.so``, ...) and sorted by path within a group.  Measured on real layers
    (docs/benchmarks.md), grouping makes xz archives about 1 % smaller.
    """
    listed = list(entries)
    folders = sorted((e for e in listed if e.kind == "dir"), key=lambda e: e.name.parts)
    others = [e for e in listed if e.kind != "dir"]
    return folders + sorted(others, key=lambda e: (_suffix(e), e.name.parts))


def write_tar_entries(
    stream: IO[bytes],
    entries: Iterable[ArchiveEntry],
    *,
    root_name: str,
    mtime_clamp: int | None,
    root_mtime: int,
) -> None:
    """Write an uncompressed tar of *entries* (as ``root_name/…``, in the given order) to *stream*."""
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


def _zip_members(
    entries: Iterable[ArchiveEntry], root_name: str, mtime_clamp: int | None, root_mtime: int
) -> Iterator[ZipMember]:
    yield ZipMember(f"{root_name}/", stat.S_IFDIR | 0o755, _clamp(root_mtime, mtime_clamp),
                    bytes, deflate=False)  # fmt: skip
    for entry in entries:
        name = f"{root_name}/{entry.name}"
        mtime = _clamp(entry.mtime, mtime_clamp)
        if entry.kind == "dir":
            yield ZipMember(f"{name}/", stat.S_IFDIR | 0o755, mtime, bytes, deflate=False)
        elif entry.kind == "symlink":  # Info-ZIP convention: the target is the content
            target = entry.target.encode()
            read = functools.partial(bytes, target)
            yield ZipMember(name, stat.S_IFLNK | 0o777, mtime, read, deflate=False)
        else:
            mode = stat.S_IFREG | (0o755 if entry.executable else 0o644)
            yield ZipMember(name, mode, mtime, entry.read, deflate=True)


def write_archive(
    entries: Iterable[ArchiveEntry],
    destination: Path,
    *,
    root_name: str,
    archive_format: ArchiveFormat,
    mtime_clamp: int | None = None,
    root_mtime: int = 0,
    threads: int | None = None,
    single_stream: bool = False,
) -> None:
    """Write a reproducible archive of *entries* under the top folder *root_name*.

    Compression runs on *threads* threads (default: one per core); the bytes
    written do not depend on it.  *single_stream* writes ``tar.gz`` and
    ``tar.xz`` as one gzip member or xz stream, on one core, for readers that
    stop after the first one.
    """
    threads = threads or compute_thread_count()
    with atomic_output(destination) as raw, contextlib.ExitStack() as stack:
        if archive_format == "zip":
            members = _zip_members(entries, root_name, mtime_clamp, root_mtime)
            write_zip_members(raw, members, threads=threads)
            return
        stream: IO[bytes]
        if archive_format == "tar.gz":
            gz = open_gzip_writer(raw, threads, single_stream=single_stream)
            stream = stack.enter_context(gz)
        elif archive_format == "tar.xz":
            stream = stack.enter_context(open_xz_writer(raw, threads, single_stream=single_stream))
        else:
            stream = stack.enter_context(open_zstd_writer(raw, threads))
        write_tar_entries(
            stream,
            compute_tar_order(entries),
            root_name=root_name,
            mtime_clamp=mtime_clamp,
            root_mtime=root_mtime,
        )


def write_tar_gz(
    source: Path, destination: Path, *, root_name: str, mtime_clamp: int | None = None
) -> None:
    """Write a reproducible ``.tar.gz`` of the folder *source* to *destination*.

    One gzip member: uv reads python-build-standalone style archives only up to
    the end of the first member.
    """
    write_archive(
        collect_entries(source),
        destination,
        root_name=root_name,
        archive_format="tar.gz",
        mtime_clamp=mtime_clamp,
        root_mtime=int(source.stat().st_mtime),
        single_stream=True,
    )
