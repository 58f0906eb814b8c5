from __future__ import annotations

import gzip
import io
import lzma
import random
import shutil
import subprocess
import zlib

import pytest

from venvstacks.compression import (
    BlockCompressor,
    compress_gzip_member,
    compress_xz_stream,
    open_zstd_writer,
)

_XZ_MAGIC = b"\xfd7zXZ\x00"


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} must be installed to run this test (standard on Debian)"
    return path


def _data(size: int, seed: int = 0) -> bytes:
    """Compressible but varied bytes: words drawn from a small vocabulary, some binary."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    words = [rng.randbytes(rng.randint(2, 12)).hex().encode() for _ in range(500)]
    out = bytearray()
    while len(out) < size:
        out += b" ".join(rng.choices(words, k=64)) + b"\n"
    return bytes(out[:size])


def _compress(
    data: bytes, compress: object, *, block_size: int, threads: int, chunk: int = 10_000
) -> bytes:
    raw = io.BytesIO()
    with BlockCompressor(raw, compress, block_size=block_size, threads=threads) as stream:  # type: ignore[arg-type]
        for start in range(0, len(data), chunk):  # writes that straddle block boundaries
            stream.write(data[start : start + chunk])
        assert stream.tell() == len(data)
    return raw.getvalue()


@pytest.mark.parametrize("threads", [1, 5])
def test_xz_blocks_are_independent_streams_whatever_the_thread_count(threads: int) -> None:
    data = _data(400_000)
    out = _compress(data, compress_xz_stream, block_size=120_000, threads=threads)
    assert out == _compress(data, compress_xz_stream, block_size=120_000, threads=2)
    assert out.count(_XZ_MAGIC) == 4  # 3 full blocks and the rest
    assert out.startswith(compress_xz_stream(data[:120_000]))
    assert lzma.decompress(out) == data
    # The xz tool reads concatenated streams as one file.
    result = subprocess.run([_tool("xz"), "-dc"], input=out, capture_output=True, check=True)
    assert result.stdout == data


@pytest.mark.parametrize("threads", [1, 4])
def test_gzip_blocks_are_independent_members_with_no_name_or_time(threads: int) -> None:
    data = _data(500_000, seed=1)
    out = _compress(data, compress_gzip_member, block_size=200_000, threads=threads)
    assert out == _compress(data, compress_gzip_member, block_size=200_000, threads=2)
    first = compress_gzip_member(data[:200_000])
    assert out.startswith(first)
    # Header: deflate, no flags (no name), mtime 0, OS unknown: what `gzip -n` leaves out.
    assert first[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    assert gzip.decompress(out) == data
    result = subprocess.run([_tool("gzip"), "-dc"], input=out, capture_output=True, check=True)
    assert result.stdout == data
    # Each member on its own is a complete gzip file.
    assert gzip.decompress(first) == data[:200_000]


def test_gzip_member_matches_what_gzipfile_writes() -> None:
    # Single-block archives keep the bytes the earlier single-threaded writer gave.
    data = _data(100_000, seed=2)
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as stream:
        stream.write(data)
    assert compress_gzip_member(data) == raw.getvalue()


def test_xz_stream_matches_what_lzmafile_writes() -> None:
    data = _data(100_000, seed=2)
    raw = io.BytesIO()
    with lzma.LZMAFile(raw, "wb", preset=6) as stream:
        stream.write(data)
    assert compress_xz_stream(data) == raw.getvalue()


def test_nothing_written_still_gives_a_valid_file() -> None:
    assert lzma.decompress(_compress(b"", compress_xz_stream, block_size=10, threads=2)) == b""
    assert gzip.decompress(_compress(b"", compress_gzip_member, block_size=10, threads=2)) == b""


def test_a_block_exactly_filled_adds_no_empty_stream() -> None:
    data = _data(200_000)
    out = _compress(data, compress_xz_stream, block_size=100_000, threads=2)
    assert out.count(_XZ_MAGIC) == 2


def test_compression_failure_propagates_and_writes_nothing_more() -> None:
    def failing(block: bytes) -> bytes:
        if block.startswith(b"bad"):
            raise zlib.error("broken block")
        return compress_gzip_member(block)

    raw = io.BytesIO()
    stream = BlockCompressor(raw, failing, block_size=4, threads=2)
    stream.write(b"goodbad!")
    with pytest.raises(zlib.error, match="broken block"):
        stream.close()
    assert gzip.decompress(raw.getvalue()) == b"good"


@pytest.mark.slow
def test_zstd_output_does_not_depend_on_the_thread_count() -> None:
    # Larger than a zstd job at level 10, so several workers really share the work.
    data = _data(48_000_000, seed=3)
    outputs = []
    for threads in (1, 2, 3):
        raw = io.BytesIO()
        with open_zstd_writer(raw, threads) as stream:
            for start in range(0, len(data), 1 << 20):
                stream.write(data[start : start + (1 << 20)])
        outputs.append(raw.getvalue())
    assert outputs[0] == outputs[1] == outputs[2]
