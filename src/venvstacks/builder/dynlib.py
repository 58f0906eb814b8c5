"""Sharing a layer's shared libraries with the layers above it (Linux and macOS).

Packages such as the NVIDIA CUDA wheels ship plain shared libraries that
extension modules in *other* layers load by name.  Each layer gets
``share/venv/dynlib/``: one relative symlink per such library found in its
``site-packages`` (Python extension modules are not libraries to share, and
``dynlib_exclude`` patterns drop others).  Layers above put these folders on
the loader's search path.  Two different files with the same name are a
conflict, reported all at once; identical files (same content) are not.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from venvstacks.errors import BuildError
from venvstacks.fs import remove_tree

DYNLIB_DIR = Path("share", "venv", "dynlib")
_LIBRARY = re.compile(r"\.(so(\.[0-9]+)*|dylib)$")


def is_extension_module(name: str, short_version: str) -> bool:
    """Whether a file name is a Python extension module for CPython *short_version* (``3.11``)."""
    tag = short_version.replace(".", "")
    return (
        name.endswith(".abi3.so")
        or re.search(rf"\.cpython-{tag}[a-z]*-[^.]+\.so$", name) is not None
    )


def compute_excluded(relative: PurePosixPath, patterns: Sequence[str]) -> bool:
    """Whether a site-packages path matches a ``dynlib_exclude`` pattern (matched at the path's end).

    The pattern language is 0.8's (``glob.translate(recursive=True,
    include_hidden=True)``): ``*``, ``?`` and ``[...]`` match inside one path
    segment, and a ``**`` segment matches any number of segments.
    """
    parts = relative.parts
    for pattern in patterns:
        segments = tuple(pattern.lstrip("/").split("/"))
        if any(_match_segments(parts[start:], segments) for start in range(len(parts))):
            return True
    return False


def _match_segments(parts: tuple[str, ...], segments: tuple[str, ...]) -> bool:
    if not segments:
        return not parts
    head, rest = segments[0], segments[1:]
    if head == "**":
        if not rest:  # a final ** matches the rest of the path
            return bool(parts)
        return any(_match_segments(parts[skip:], rest) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _match_segments(parts[1:], rest)


@dataclass(frozen=True)
class SharedLibrary:
    """A library to share: its file name and its path relative to site-packages."""

    name: str
    path: PurePosixPath


def find_shared_libraries(
    site_packages: Path, short_version: str, exclude: Sequence[str]
) -> list[SharedLibrary]:
    """List the shared libraries in *site_packages* that upper layers may link against."""
    found = []
    for dirpath, dirnames, filenames in os.walk(site_packages):
        dirnames.sort()
        for name in sorted(filenames):
            if not _LIBRARY.search(name) or is_extension_module(name, short_version):
                continue
            relative = PurePosixPath(Path(dirpath, name).relative_to(site_packages).as_posix())
            if not compute_excluded(relative, exclude):
                found.append(SharedLibrary(name, relative))
    return found


def _digest(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def find_conflicts(
    site_packages: Path, libraries: Iterable[SharedLibrary]
) -> dict[str, list[PurePosixPath]]:
    """Return the library names provided by different files (identical copies don't count)."""
    by_name: dict[str, list[PurePosixPath]] = {}
    for library in libraries:
        by_name.setdefault(library.name, []).append(library.path)
    return {
        name: paths
        for name, paths in by_name.items()
        if len(paths) > 1 and len({_digest(site_packages / p) for p in paths}) > 1
    }


def link_shared_libraries(
    layer_dir: Path, site_dir: Path, short_version: str, exclude: Sequence[str], *, label: str
) -> int:
    """Recreate the layer's ``share/venv/dynlib`` links; return how many there are."""
    site_packages = layer_dir / site_dir
    libraries = find_shared_libraries(site_packages, short_version, exclude)
    conflicts = find_conflicts(site_packages, libraries)
    if conflicts:
        details = "; ".join(
            f"{name} from {', '.join(str(p) for p in paths)}"
            for name, paths in sorted(conflicts.items())
        )
        raise BuildError(
            f"{label}: shared libraries with the same name come from different files ({details}); "
            "add the ones upper layers don't need to dynlib_exclude"
        )
    dynlib = layer_dir / DYNLIB_DIR
    remove_tree(dynlib)
    seen: set[str] = set()
    for library in libraries:
        if library.name in seen:
            continue
        seen.add(library.name)
        dynlib.mkdir(parents=True, exist_ok=True)
        target = site_packages / library.path
        (dynlib / library.name).symlink_to(os.path.relpath(target, dynlib))
    return len(seen)
