"""Compressed output streams for archives, using every core, independent of the core count.

xz and gzip compress on one core.  Here the stream is cut into fixed-size
blocks, each compressed on a thread pool into a complete, independent xz
stream (or gzip member), and the results are written in order.  The xz and
gzip formats allow concatenated streams and members, and every reader
(``xz -d``, ``gzip -d``, ``tar -xJf``/``-xzf``, Python's `lzma`, `gzip` and
`tarfile`) reads them as one file.  Block boundaries depend only on the
uncompressed bytes, so the output is the same whatever the number of threads
(reproducible), and memory stays bounded: at most two blocks per thread are in
flight.  `lzma` and `zlib` release the GIL while they compress.

Not every reader handles concatenated streams: uv, for one, reads only the
first gzip member of a python-build-standalone archive.  Archives meant for such
readers (`venvstacks python pack`) are written as a single stream, on one core.

zstd compresses with its own worker threads (``threads >= 1``), whose output
does not depend on the number of workers either.

Block sizes were chosen by measuring real layers (see docs/benchmarks.md): xz
blocks of 3x the dictionary size cost well under 1 % against a single stream,
gzip (a 32 KiB window) loses nothing measurable with 8 MiB blocks.
"""

from __future__ import annotations

import functools
import gzip
import lzma
import os
import struct
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, cast

import zstandard

XZ_PRESET = 6
XZ_BLOCK_SIZE = 24 << 20  # 3x preset 6's 8 MiB dictionary, like `xz -T`
GZIP_LEVEL = 6
GZIP_BLOCK_SIZE = 8 << 20
ZSTD_LEVEL = 10
# A gzip header with no name, no timestamp (`gzip -n`), no extra flags, OS "unknown"
# (RFC 1952 section 2.3): the header Python's GzipFile writes at level 6 with mtime=0.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def compute_thread_count() -> int:
    """Return the number of cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@functools.cache
def compute_pool(threads: int) -> ThreadPoolExecutor:
    """Return the process's compression pool with *threads* workers.

    Archives written at the same time (publish writes layers in parallel) share
    the cores instead of each starting a compressor per core.
    """
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="venvstacks-compress")


def compress_xz_stream(data: bytes) -> bytes:
    """Compress *data* into one complete xz stream (CRC64 check, preset 6)."""
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=XZ_PRESET)


def compress_gzip_member(data: bytes) -> bytes:
    """Compress *data* into one complete gzip member with a `gzip -n` style header."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(data) + compressor.flush()
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return _GZIP_HEADER + body + trailer


class BlockCompressor:
    """A writable stream that compresses fixed-size blocks in parallel into *raw*.

    ``close()`` writes the last block (an empty one if nothing was written, so
    the output is always a valid compressed file); it does not close *raw*.
    """

    def __init__(
        self,
        raw: IO[bytes],
        compress: Callable[[bytes], bytes],
        *,
        block_size: int,
        threads: int,
    ) -> None:
        self._raw = raw
        self._compress = compress
        self._block_size = block_size
        self._pool = compute_pool(threads)
        self._in_flight = 2 * threads
        self._buffer = bytearray()
        self._pending: deque[Future[bytes]] = deque()
        self._position = 0
        self._blocks = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Buffer *data*; hand every full block to the pool."""
        size = len(memoryview(data))
        self._buffer += data
        self._position += size
        while len(self._buffer) >= self._block_size:
            block = bytes(self._buffer[: self._block_size])
            del self._buffer[: self._block_size]
            self._submit(block)
        return size

    def tell(self) -> int:
        """Return the number of uncompressed bytes written so far."""
        return self._position

    def _submit(self, block: bytes) -> None:
        self._pending.append(self._pool.submit(self._compress, block))
        self._blocks += 1
        while len(self._pending) > self._in_flight:
            self._raw.write(self._pending.popleft().result())

    def close(self) -> None:
        """Compress what is left and write every remaining block, in order."""
        if self.closed:
            return
        self.closed = True
        try:
            if self._buffer or self._blocks == 0:
                self._submit(bytes(self._buffer))
                self._buffer.clear()
            while self._pending:
                self._raw.write(self._pending.popleft().result())
        finally:
            for future in self._pending:  # after a failure: don't compress for nobody
                future.cancel()

    def __enter__(self) -> BlockCompressor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.close()
        else:
            self.closed = True
            for future in self._pending:
                future.cancel()


def open_xz_writer(raw: IO[bytes], threads: int, *, single_stream: bool = False) -> IO[bytes]:
    """Return a stream that writes xz data to *raw* in independent blocks.

    With *single_stream*, it writes one xz stream on one core instead (the same
    bytes when the data fits in one block).
    """
    if single_stream:
        return cast("IO[bytes]", lzma.LZMAFile(raw, "wb", preset=XZ_PRESET))
    compressor = BlockCompressor(raw, compress_xz_stream, block_size=XZ_BLOCK_SIZE, threads=threads)
    return cast("IO[bytes]", compressor)


def open_gzip_writer(raw: IO[bytes], threads: int, *, single_stream: bool = False) -> IO[bytes]:
    """Return a stream that writes gzip data to *raw* in independent members.

    With *single_stream*, it writes one gzip member on one core instead (the
    same bytes when the data fits in one block).
    """
    if single_stream:
        return cast(
            "IO[bytes]",
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL),
        )
    compressor = BlockCompressor(
        raw, compress_gzip_member, block_size=GZIP_BLOCK_SIZE, threads=threads
    )
    return cast("IO[bytes]", compressor)


def open_zstd_writer(raw: IO[bytes], threads: int) -> IO[bytes]:
    """Return a stream that writes zstd data to *raw*, compressed by zstd's own threads."""
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=threads)
    writer: IO[bytes] = compressor.stream_writer(raw, closefd=False)
    return writer
