"""Writing zip files whose members are deflated in parallel.

`zipfile` compresses each member as it writes it, on one core.  Here members'
data is read and deflated on a thread pool (`zlib` releases the GIL), in
batches of 32 members, and the results are written in the given order: at most
two batches per thread are in flight, so memory stays bounded.  The layout
follows the zip specification (PKWARE APPNOTE 6.3.x): a local header before each member's data,
then the central directory, with Zip64 records only where a size, an offset or
the member count needs them.  Sizes and CRCs are known before a member is
written, so no data descriptors are needed.  Nothing here depends on the
thread count, the clock or the machine.
"""

from __future__ import annotations

import itertools
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import IO

from venvstacks.compression import compute_pool

DEFLATE_LEVEL = 6
_ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can hold
_LIMIT32 = 0xFFFFFFFF
_LIMIT16 = 0xFFFF
_UNIX = 3  # "version made by" host: the external attributes hold a Unix mode
_UTF8_NAME = 0x800  # general purpose flag bit 11: the name is UTF-8
_BATCH = 32


@dataclass(frozen=True)
class ZipMember:
    """One member to write: its name (folders end in ``/``), Unix mode and mtime.

    ``read`` returns the content; ``deflate`` says whether it is compressed or stored.
    """

    name: str
    mode: int
    mtime: int
    read: Callable[[], bytes]
    deflate: bool


@dataclass(frozen=True)
class _Prepared:
    member: ZipMember
    data: bytes
    crc: int
    size: int


def _prepare(member: ZipMember) -> _Prepared:
    content = member.read()
    data = content
    if member.deflate:
        compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = compressor.compress(content) + compressor.flush()
    return _Prepared(member, data, zlib.crc32(content), len(content))


def compute_dos_time(mtime: int) -> tuple[int, int]:
    """Return the MS-DOS (time, date) fields for the Unix time *mtime* (UTC)."""
    year, month, day, hour, minute, second = time.gmtime(max(mtime, _ZIP_EPOCH))[:6]
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _zip64_extra(*values: int) -> bytes:
    return struct.pack(f"<HH{len(values)}Q", 0x0001, 8 * len(values), *values) if values else b""


def _headers(prepared: _Prepared, offset: int) -> tuple[bytes, bytes]:
    """Return the local header (with the name) and the central directory record."""
    member = prepared.member
    name = member.name.encode("utf-8")
    flags = 0 if member.name.isascii() else _UTF8_NAME
    method = zlib.DEFLATED if member.deflate else 0
    dos_time, dos_date = compute_dos_time(member.mtime)
    csize, size = len(prepared.data), prepared.size
    local64 = csize >= _LIMIT32 or size >= _LIMIT32
    local_extra = _zip64_extra(size, csize) if local64 else b""
    central_values = [size, csize] if local64 else []
    if offset >= _LIMIT32:
        central_values.append(offset)
    version = 45 if central_values else 20
    common = struct.pack(
        "<HHHHHI", version, flags, method, dos_time, dos_date, prepared.crc
    )  # fmt: skip
    sizes = struct.pack("<II", _LIMIT32 if local64 else csize, _LIMIT32 if local64 else size)
    local = b"PK\x03\x04" + common + sizes
    local += struct.pack("<HH", len(name), len(local_extra)) + name + local_extra
    central_extra = _zip64_extra(*central_values)
    central = b"PK\x01\x02" + struct.pack("<BB", version, _UNIX) + common + sizes
    central += struct.pack(
        "<HHHHHII", len(name), len(central_extra), 0, 0, 0, (member.mode & 0xFFFF) << 16,
        min(offset, _LIMIT32),
    )  # fmt: skip
    return local, central + name + central_extra


def _end_records(count: int, directory_size: int, directory_offset: int) -> bytes:
    records = b""
    if count >= _LIMIT16 or directory_size >= _LIMIT32 or directory_offset >= _LIMIT32:
        end64_offset = directory_offset + directory_size
        records += b"PK\x06\x06" + struct.pack(
            "<QHHIIQQQQ", 44, (_UNIX << 8) | 45, 45, 0, 0, count, count, directory_size,
            directory_offset,
        )  # fmt: skip
        records += b"PK\x06\x07" + struct.pack("<IQI", 0, end64_offset, 1)
    records += b"PK\x05\x06" + struct.pack(
        "<HHHHIIH", 0, 0, min(count, _LIMIT16), min(count, _LIMIT16),
        min(directory_size, _LIMIT32), min(directory_offset, _LIMIT32), 0,
    )  # fmt: skip
    return records


def _prepare_batch(members: list[ZipMember]) -> list[_Prepared]:
    return [_prepare(member) for member in members]


def _prepared_in_order(
    members: Iterable[ZipMember], pool: Executor, in_flight: int
) -> Iterator[_Prepared]:
    # Members go to the pool in small batches: one task per member costs more than
    # compressing a typical small file does.
    pending: deque[Future[list[_Prepared]]] = deque()
    try:
        iterator = iter(members)
        while batch := list(itertools.islice(iterator, _BATCH)):
            pending.append(pool.submit(_prepare_batch, batch))
            while len(pending) > in_flight:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def write_zip_members(raw: IO[bytes], members: Iterable[ZipMember], *, threads: int) -> None:
    """Write a zip file of *members*, in the given order, to the start of *raw*."""
    directory: list[bytes] = []
    offset = 0
    for prepared in _prepared_in_order(members, compute_pool(threads), 2 * threads):
        local, central = _headers(prepared, offset)
        raw.write(local)
        raw.write(prepared.data)
        offset += len(local) + len(prepared.data)
        directory.append(central)
    for record in directory:
        raw.write(record)
    directory_size = sum(map(len, directory))
    raw.write(_end_records(len(directory), directory_size, offset))
