from __future__ import annotations

import functools
import io
import stat
import zipfile

import pytest

from venvstacks.zipwriter import ZipMember, compute_dos_time, write_zip_members


def _file(
    name: str, content: bytes, *, deflate: bool = True, mtime: int = 1_700_000_000
) -> ZipMember:
    read = functools.partial(bytes, content)
    return ZipMember(name, stat.S_IFREG | 0o644, mtime, read, deflate=deflate)


def _zip(members: list[ZipMember], threads: int = 2) -> bytes:
    raw = io.BytesIO()
    write_zip_members(raw, members, threads=threads)
    return raw.getvalue()


def test_dos_time_is_utc_with_two_second_steps_and_clamped_to_1980() -> None:
    # 2023-11-14 22:13:21 UTC
    assert compute_dos_time(1_700_000_001) == (
        (22 << 11) | (13 << 5) | 10,
        (43 << 9) | (11 << 5) | 14,
    )
    assert compute_dos_time(0) == (0, (1 << 5) | 1)  # 1980-01-01 00:00:00


def test_members_read_back_with_their_modes_times_and_content() -> None:
    members = [
        ZipMember("top/", stat.S_IFDIR | 0o755, 1_700_000_000, bytes, deflate=False),
        _file("top/text.txt", b"hello " * 1000),
        _file("top/stored.bin", b"\x00\x01", deflate=False),
        _file("top/empty", b""),
        _file("top/caf\u00e9.txt", "caf\u00e9".encode(), mtime=0),
    ]
    data = _zip(members)
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        assert opened.testzip() is None
        infos = opened.infolist()
        assert [i.filename for i in infos] == [m.name for m in members]
        assert [i.compress_type for i in infos] == [0, 8, 0, 8, 8]
        assert [oct(i.external_attr >> 16) for i in infos] == ["0o40755", *["0o100644"] * 4]
        assert {i.create_system for i in infos} == {3}
        assert infos[1].date_time == (2023, 11, 14, 22, 13, 20)
        assert infos[4].date_time == (1980, 1, 1, 0, 0, 0)
        assert infos[4].flag_bits & 0x800  # UTF-8 name
        assert opened.read("top/text.txt") == b"hello " * 1000
        assert infos[1].compress_size < 100
        assert opened.read("top/caf\u00e9.txt") == "caf\u00e9".encode()
    assert data == _zip(members, threads=1) == _zip(members, threads=7)


@pytest.mark.slow
def test_more_than_65535_members_use_zip64_end_records() -> None:
    members = [_file(f"m/{index}", b"", deflate=False) for index in range(70_000)]
    data = _zip(members, threads=3)
    assert b"PK\x06\x06" in data[-200:]  # Zip64 end of central directory record
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        names = opened.namelist()
    assert len(names) == 70_000
    assert names[-1] == "m/69999"
