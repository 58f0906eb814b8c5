"""Checking that a built layer holds no absolute path of the build machine.

A layer is unpacked somewhere else on another machine, so any absolute path of
the build folder left inside it is a bug waiting to happen.  The check reads
every file (binary ones too) and every symlink.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from venvstacks.archives import iter_tree

_CHUNK = 1 << 20


def _file_contains(path: Path, needles: tuple[bytes, ...]) -> bool:
    overlap = max(len(n) for n in needles) - 1
    tail = b""
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            window = tail + chunk
            if any(needle in window for needle in needles):
                return True
            tail = window[-overlap:] if overlap else b""
    return False


def find_build_paths(layer_dir: Path, build_paths: Iterable[Path]) -> list[str]:
    """Return the layer-relative paths of entries that mention any of *build_paths*.

    Symlinks are reported when their target is absolute.
    """
    needles = tuple(sorted({os.fsencode(p) for p in build_paths}))
    found = []
    for path in iter_tree(layer_dir):
        relative = path.relative_to(layer_dir).as_posix()
        if path.is_symlink():
            if path.readlink().is_absolute():
                found.append(relative)
        elif path.is_file() and _file_contains(path, needles):
            found.append(relative)
    return found
