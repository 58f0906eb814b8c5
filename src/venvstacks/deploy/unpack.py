"""Unpacking one layer archive (tar.xz, tar.zst, tar.gz or zip) into a staging folder.

Archives are read as a stream, once: the sha256 the metadata publishes is
computed from the same reads that feed the decompressor, and checked when the
last member is written, so a mismatch fails the unpacking (the caller discards
the staging folder).  Zip archives are read out of order (the member list is at
the end), so they are hashed in a pass of their own first.  Every member passes the checks of
`venvstacks.deploy.members` before anything is written for it.  Members are
written here rather than by tarfile or zipfile, with the same rules for both
formats: folders ``0o755``, files ``0o755`` or ``0o644`` (executable or not,
nothing else of the stored mode survives), symlinks as symlinks (zip archives
hold them Info-ZIP style: ``S_IFLNK`` in the external attributes, the target
as the content).  Files are created exclusively and never through a symlink,
so even a member that slipped past the checks could not overwrite anything.

Unpacking is bounded: the files of a layer may add up to at most its
``unpacked_size`` from the manifest (see `compute_unpack_limit` for metadata
without it).  A file whose declared size would pass the bound is refused before
it is written, and bytes are counted as they are written, so an archive that
lies about its sizes is stopped within one buffer of the bound.  A zip
symlink's target (stored as member data) is read with a size limit.  After any
failure the partly unpacked layer folder is removed.
"""

from __future__ import annotations

import calendar
import contextlib
import gzip
import hashlib
import lzma
import os
import shutil
import stat
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import zstandard

from venvstacks.archives import ARCHIVE_FORMATS, ArchiveFormat
from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.deploy.members import (
    LINK_TOO_LONG,
    MAX_LINK_TARGET,
    ArchiveMember,
    MemberKind,
    UnsafeMemberError,
    check_members,
)
from venvstacks.deploy.verify import compute_sha256
from venvstacks.errors import DeployError

_CORRUPT = (
    tarfile.TarError,
    zipfile.BadZipFile,
    lzma.LZMAError,
    zstandard.ZstdError,
    gzip.BadGzipFile,
    zlib.error,
    EOFError,
    UnicodeDecodeError,
)


# For metadata without unpacked_size (venvstacks 0.8): far above what real layers
# compress by (Python code and libraries: 3-10 times), far below a zip or tar bomb.
UNPACK_RATIO = 100
UNPACK_FLOOR = 64 << 20
_CHUNK = 1 << 20


class UnpackStoppedError(Exception):
    """Unpacking was stopped because another layer of the same deployment failed."""


class _LimitExceededError(Exception):
    """The files written would pass the layer's unpack limit."""


def compute_unpack_limit(layer: ManifestLayer) -> int:
    """Return how many bytes the files of *layer*'s archive may add up to.

    Its ``unpacked_size`` when the metadata records one; otherwise
    `UNPACK_RATIO` times the archive's size, but at least `UNPACK_FLOOR`.
    """
    if layer.unpacked_size is not None:
        return layer.unpacked_size
    return max(layer.archive_size * UNPACK_RATIO, UNPACK_FLOOR)


def render_limit(layer: ManifestLayer) -> str:
    """Describe the unpack limit of *layer* for an error message."""
    limit = compute_unpack_limit(layer)
    if layer.unpacked_size is not None:
        return f"the {limit} bytes its metadata declares (unpacked_size)"
    return (
        f"{limit} bytes (the limit without unpacked_size in the metadata: {UNPACK_RATIO} times "
        f"the archive's size, at least {UNPACK_FLOOR >> 20} MiB)"
    )


_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
)


def _tar_kind(info: tarfile.TarInfo) -> MemberKind:
    if info.isdir():
        return "dir"
    if info.isreg():
        return "file"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    if info.ischr() or info.isblk():
        return "device"
    return "fifo" if info.isfifo() else "other"


def _tar_members(tar: tarfile.TarFile) -> Iterator[ArchiveMember]:
    for info in tar:

        def content(info: tarfile.TarInfo = info) -> IO[bytes]:
            stream = tar.extractfile(info)
            assert stream is not None  # noqa: S101 - regular members always have data
            return stream

        yield ArchiveMember(
            name=info.name,
            kind=_tar_kind(info),
            target=info.linkname if info.issym() else "",
            executable=bool(info.mode & 0o111),
            mtime=int(info.mtime),
            size=info.size if info.isreg() else 0,
            content=content if info.isreg() else None,
        )


def _zip_kind(info: zipfile.ZipInfo, mode: int) -> MemberKind:
    if stat.S_ISLNK(mode):
        return "symlink"
    if info.is_dir() or stat.S_ISDIR(mode):
        return "dir"
    if stat.S_IFMT(mode) in {0, stat.S_IFREG}:  # 0: no Unix mode stored (Windows zip tools)
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "fifo" if stat.S_ISFIFO(mode) else "other"


def _zip_link_target(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    """Read a zip symlink's target (its data), never more than a path can be."""
    with archive.open(info) as stream:
        data = stream.read(MAX_LINK_TARGET + 1)
    if len(data) > MAX_LINK_TARGET:
        raise UnsafeMemberError(info.filename, LINK_TOO_LONG)
    return data.decode("utf-8")


def _zip_members(archive: zipfile.ZipFile) -> Iterator[ArchiveMember]:
    for info in archive.infolist():
        mode = info.external_attr >> 16 if info.create_system == 3 else 0  # noqa: PLR2004 - Unix
        kind = _zip_kind(info, mode)

        def content(info: zipfile.ZipInfo = info) -> IO[bytes]:
            return archive.open(info)

        yield ArchiveMember(
            name=info.filename,
            kind=kind,
            target=_zip_link_target(archive, info) if kind == "symlink" else "",
            executable=bool(mode & 0o111),
            mtime=calendar.timegm((*info.date_time, 0, 0, 0)),
            size=info.file_size if kind == "file" else 0,
            content=content if kind == "file" else None,
        )


class ArchiveDigestError(Exception):
    """The archive's sha256 is not the expected one; ``digest`` is the one it has."""

    def __init__(self, digest: str) -> None:
        super().__init__(digest)
        self.digest = digest


class _HashingReader:
    """Passes reads of *raw* through sha256."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._sha256.update(data)
        return data

    def finish(self) -> str:
        """Hash what the decompressor left unread (padding after the tar end); return the hex."""
        while data := self._raw.read(1 << 20):
            self._sha256.update(data)
        return self._sha256.hexdigest()


@contextlib.contextmanager
def open_members(
    path: Path, archive_format: ArchiveFormat, *, sha256: str | None = None
) -> Iterator[Iterator[ArchiveMember]]:
    """Open the archive at *path* and yield its members as a stream.

    With *sha256*, raises `ArchiveDigestError` once the members are read if the
    archive's sha256 differs (before any member, for zip archives).
    """
    with path.open("rb") as file, contextlib.ExitStack() as stack:
        if archive_format == "zip":
            if sha256 is not None and (digest := compute_sha256(path)) != sha256:
                raise ArchiveDigestError(digest)
            yield _zip_members(stack.enter_context(zipfile.ZipFile(file)))
            return
        hashing = _HashingReader(file)
        raw = cast("IO[bytes]", hashing)
        stream: IO[bytes]
        if archive_format == "tar.zst":
            reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            stream = stack.enter_context(reader)
        elif archive_format == "tar.xz":
            stream = stack.enter_context(lzma.LZMAFile(raw))
        else:
            gz = gzip.GzipFile(fileobj=raw, mode="rb")
            stream = cast("IO[bytes]", stack.enter_context(gz))
        yield _tar_members(stack.enter_context(tarfile.open(fileobj=stream, mode="r|")))
        if sha256 is not None and (digest := hashing.finish()) != sha256:
            raise ArchiveDigestError(digest)


def compute_archive_format(archive_name: str) -> ArchiveFormat:
    """Return ``tar.xz``, ``tar.zst``, ``tar.gz`` or ``zip``, from the archive's name.

    The manifest only accepts names with one of these suffixes.
    """
    for archive_format in ARCHIVE_FORMATS:
        if archive_name.endswith(f".{archive_format}"):
            return archive_format
    raise ValueError(f"{archive_name!r} is not a {', '.join(ARCHIVE_FORMATS)} archive")


class _Writer:
    """Writes checked members below *dest*, creating missing parent folders.

    Files may add up to *limit* bytes; `_LimitExceededError` stops the writer
    before a file that declares more, or as soon as the bytes written pass it.
    """

    def __init__(self, dest: Path, limit: int) -> None:
        self.dest = dest
        self.limit = limit
        self.written = 0
        self.folders: dict[tuple[str, ...], int | None] = {}

    def folder(self, parts: tuple[str, ...], mtime: int | None = None) -> None:
        """Create the folder *parts* (and its parents) unless it exists."""
        if parts not in self.folders:
            if len(parts) > 1:
                self.folder(parts[:-1])
            path = self.dest.joinpath(*parts)
            path.mkdir(mode=0o755, exist_ok=True)
            if path.is_symlink() or not path.is_dir():
                raise FileExistsError(f"{path} is not a folder")
            self.folders[parts] = None
        if mtime is not None:
            self.folders[parts] = mtime

    def write(self, parts: tuple[str, ...], member: ArchiveMember) -> None:
        """Write one checked member."""
        if member.kind == "dir":
            self.folder(parts, member.mtime)
            return
        self.folder(parts[:-1])
        path = self.dest.joinpath(*parts)
        if member.kind == "symlink":
            path.symlink_to(member.target)
            with contextlib.suppress(NotImplementedError, OSError):
                os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
            return
        assert member.content is not None  # noqa: S101 - file members carry their content
        if self.written + member.size > self.limit:
            raise _LimitExceededError
        fd = os.open(path, _CREATE, 0o600)
        with os.fdopen(fd, "wb") as out, member.content() as data:
            while chunk := data.read(_CHUNK):
                self.written += len(chunk)
                if self.written > self.limit:
                    raise _LimitExceededError
                out.write(chunk)
        path.chmod(0o755 if member.executable else 0o644)
        os.utime(path, (member.mtime, member.mtime))

    def finish(self) -> None:
        """Set folder mtimes, deepest first (writing into a folder changes its mtime)."""
        for parts, mtime in sorted(self.folders.items(), key=lambda item: -len(item[0])):
            if mtime is not None:
                os.utime(self.dest.joinpath(*parts), (mtime, mtime))


def _digest_message(label: str, digest: str, layer: ManifestLayer) -> str:
    return (
        f"{label} has sha256 {digest}, the metadata says {layer.archive_sha256}; download it again"
    )


def unpack_layer(
    archive: Path, layer: ManifestLayer, dest: Path, *, stop: threading.Event | None = None
) -> Path:
    """Unpack the layer's *archive* into *dest*; return the layer folder ``dest/<install_target>``.

    Raises `DeployError` for an archive whose sha256 is not the published one,
    unsafe members (see `venvstacks.deploy.members`), archives that unpack to
    more than `compute_unpack_limit`, unreadable archives and write failures, and
    `UnpackStoppedError` as soon as *stop* is set; a layer folder it created is
    removed first.
    """
    layer_dir = dest / layer.install_target
    existed = os.path.lexists(layer_dir)
    try:
        return _unpack(archive, layer, dest, stop)
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                shutil.rmtree(layer_dir)
        raise


def _unpack(archive: Path, layer: ManifestLayer, dest: Path, stop: threading.Event | None) -> Path:
    label = f"{layer.install_target}: archive {layer.archive_name}"
    archive_format = compute_archive_format(layer.archive_name)
    writer = _Writer(dest, compute_unpack_limit(layer))
    try:
        with open_members(archive, archive_format, sha256=layer.archive_sha256) as members:
            for parts, member in check_members(members, layer.install_target):
                if stop is not None and stop.is_set():
                    raise UnpackStoppedError(layer.install_target)
                writer.write(parts, member)
        writer.finish()
    except _LimitExceededError:
        raise DeployError(
            f"{label} unpacks to more than {render_limit(layer)}; refusing to unpack it"
        ) from None
    except UnsafeMemberError as exc:
        raise DeployError(
            f"{label} has an unsafe member {exc.name!r} ({exc.reason}); refusing to unpack it"
        ) from None
    except ArchiveDigestError as exc:
        raise DeployError(_digest_message(label, exc.digest, layer)) from None
    except _CORRUPT as exc:
        # A changed byte usually breaks the compressed data before the end: say so.
        with contextlib.suppress(OSError):
            if (digest := compute_sha256(archive)) != layer.archive_sha256:
                raise DeployError(_digest_message(label, digest, layer)) from None
        raise DeployError(f"{label} can't be unpacked ({exc}); download it again") from None
    except OSError as exc:
        raise DeployError(f"{label} can't be unpacked into {dest} ({exc})") from None
    layer_dir = dest / layer.install_target
    if not layer_dir.is_dir():
        raise DeployError(f"{label} has no '{layer.install_target}' folder; publish it again")
    return layer_dir
