from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from venvstacks.runtimes.elf import compute_relative_runpath, is_elf

PREFIX = PurePosixPath("/root/.pyenv/versions/3.11.7")


@pytest.mark.parametrize(
    ("runpath", "file_dir", "expected"),
    [
        ("/root/.pyenv/versions/3.11.7/lib", "bin", "$ORIGIN/../lib"),
        ("/root/.pyenv/versions/3.11.7/lib", "lib", "$ORIGIN"),
        ("/root/.pyenv/versions/3.11.7/lib", "lib/python3.11/lib-dynload", "$ORIGIN/../.."),
        # System folders and $ORIGIN entries are kept; duplicates collapse.
        ("/root/.pyenv/versions/3.11.7/lib:/usr/local/lib", "bin", "$ORIGIN/../lib:/usr/local/lib"),
        ("$ORIGIN/../lib:/root/.pyenv/versions/3.11.7/lib", "bin", "$ORIGIN/../lib"),
        # A sibling folder sharing the prefix's name as a string prefix is outside it.
        ("/root/.pyenv/versions/3.11.7-debug/lib", "bin", "/root/.pyenv/versions/3.11.7-debug/lib"),
    ],
)
def test_compute_relative_runpath(runpath: str, file_dir: str, expected: str) -> None:
    assert compute_relative_runpath(runpath, PurePosixPath(file_dir), PREFIX) == expected


def test_is_elf_only_for_loadable_files(tmp_path: Path) -> None:
    shared = tmp_path / "lib.so"
    shared.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x03\x00" + b"\0" * 40)
    relocatable = tmp_path / "python.o"
    relocatable.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x01\x00" + b"\0" * 40)
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    link = tmp_path / "link.so"
    link.symlink_to(shared.name)
    assert is_elf(shared)
    assert not is_elf(relocatable)
    assert not is_elf(script)
    assert not is_elf(link)
    assert not is_elf(tmp_path)
