"""``current`` as a symlink (Linux, macOS) or a pointer file (Windows), and its pure parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from venvstacks.store.links import parse_pointer, read_current, render_pointer, write_current


def test_pointer_format() -> None:
    assert render_pointer(12) == "12\n"
    assert parse_pointer("12\n") == 12
    assert parse_pointer("releases/3") == 3
    assert parse_pointer("releases\\3") == 3
    for bad in ("", "0", "-1", "x", "releases/", "1.5"):
        assert parse_pointer(bad) is None


@pytest.mark.parametrize("pointer", [True, False])
def test_current_is_replaced_in_one_step(tmp_path: Path, pointer: bool) -> None:
    current = tmp_path / "current"
    assert read_current(current, pointer=pointer) is None
    write_current(current, 1, pointer=pointer)
    write_current(current, 2, pointer=pointer)
    assert read_current(current, pointer=pointer) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["current"]
    if pointer:
        assert current.read_text() == "2\n"
    else:
        assert current.readlink() == Path("releases/2")
