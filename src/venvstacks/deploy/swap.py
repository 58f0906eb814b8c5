"""Moving finished layers from a staging folder into a target folder, and back out.

Layers are unpacked and post-installed in a staging folder inside the target
(``TARGET/.venvstacks-staging-<random>/``: the same file system, so every move
is a rename).  Switching to them is only renames: each previous folder goes
aside into ``<staging>/.previous/``, then the new one takes its name.  Both
functions here can be run again after being interrupted at any point and carry
on where they stopped, which is what replaying the journal
(`venvstacks.deploy.journal`) relies on.  Everything here takes paths, so the
layer store reuses it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from venvstacks.fs import remove_tree

STAGING_PREFIX = ".venvstacks-staging-"
PREVIOUS_DIR = ".previous"


def create_staging(target: Path) -> Path:
    """Create a new, empty staging folder inside *target* and return it."""
    return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))


def find_staging_folders(target: Path) -> list[Path]:
    """Return the staging folders inside *target* (left by interrupted deployments)."""
    try:
        entries = sorted(target.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.name.startswith(STAGING_PREFIX) and not p.is_symlink()]


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def move_in(target: Path, staging: Path, names: Sequence[str]) -> None:
    """Move the staged folders *names* into *target*, each previous folder aside first.

    A name whose staged folder is gone was moved in already (by an interrupted
    run), so running this again finishes the switch.
    """
    previous = staging / PREVIOUS_DIR
    with contextlib.suppress(FileExistsError):
        previous.mkdir()
    for name in names:
        staged, final = staging / name, target / name
        if not staged.is_dir():
            continue
        if _present(final):
            final.rename(previous / name)
        staged.rename(final)


def move_out(target: Path, staging: Path, names: Sequence[str]) -> None:
    """Undo `move_in`, as far as it got: new folders back into staging, previous ones back.

    Also safe to run again after being interrupted.
    """
    previous = staging / PREVIOUS_DIR
    for name in reversed(names):
        staged, final, aside = staging / name, target / name, previous / name
        if not _present(staged) and _present(final):  # the new folder was moved in
            final.rename(staged)
        if _present(aside) and not _present(final):
            aside.rename(final)


def compute_tree_size(path: Path) -> int:
    """Return the bytes of the files below *path* (symlinks not followed; 0 if it is gone)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += Path(folder, name).lstat().st_size
    return total


def remove_staging(staging: Path) -> int:
    """Delete a staging folder and everything in it; return the bytes it held.

    Best effort: what can't be deleted stays, and the next run tries again.
    """
    size = compute_tree_size(staging)
    with contextlib.suppress(OSError):
        remove_tree(staging)
    return size
