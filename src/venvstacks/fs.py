"""File-system helpers shared by every stage: atomic writes, folder swaps, leftover recovery.

Every temporary name venvstacks creates is hidden and recognisable, so a run
killed at any point leaves only names that the next run can identify and
clean up (`recover_swaps`): ``.<name>.staging`` (a folder being assembled),
``.<name>.old`` (the previous folder, renamed aside during a swap) and
``.<name>.<random>.tmp`` (a file being written).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

TEMP_SUFFIX = ".tmp"
_TEMP_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # atomic_output's names


@contextlib.contextmanager
def atomic_output(destination: Path) -> Iterator[IO[bytes]]:
    """Open a temporary file beside *destination*; rename it into place on success.

    On any exception the temporary file is removed and *destination* is untouched.
    An `OSError` that names no file, or only the temporary one (a full disk
    while writing), is raised again naming *destination*.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=TEMP_SUFFIX
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
        tmp.chmod(0o644)
        tmp.replace(destination)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno is None or exc.filename not in (None, tmp_name, str(tmp)):
            raise
        raise type(exc)(exc.errno, exc.strerror, str(destination)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(destination: Path, text: str) -> None:
    """Write *text* (UTF-8, LF line endings) to *destination* atomically."""
    with atomic_output(destination) as stream:
        stream.write(text.encode("utf-8"))


def render_json(data: object) -> str:
    """Render JSON the way every venvstacks file is written: sorted keys, 2-space indent, final LF."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_json(destination: Path, data: object) -> None:
    """Write *data* as JSON (see `render_json`) to *destination* atomically."""
    write_text(destination, render_json(data))


def remove_tree(path: Path) -> None:
    """Remove a file, symlink or folder tree if it exists."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def compute_staging_path(destination: Path) -> Path:
    """Where a folder meant for *destination* is assembled: ``.<name>.staging`` beside it."""
    return destination.with_name(f".{destination.name}.staging")


def compute_aside_path(destination: Path) -> Path:
    """Where `replace_tree` keeps the previous *destination* during a swap: ``.<name>.old``."""
    return destination.with_name(f".{destination.name}.old")


def replace_tree(staged: Path, destination: Path) -> None:
    """Move the folder *staged* to *destination*, replacing what was there.

    The old folder is first renamed aside (``.<name>.old``) and only deleted once
    the new one is in place.  A process killed between the two renames leaves no
    folder under the name, only ``.<name>.old``: `recover_swaps` puts it back.
    """
    aside = compute_aside_path(destination)
    if aside.exists() and not (destination.exists() or destination.is_symlink()):
        aside.rename(destination)  # an earlier swap was interrupted: the old folder first
    remove_tree(aside)
    if destination.exists() or destination.is_symlink():
        destination.rename(aside)
    staged.rename(destination)
    remove_tree(aside)


def compute_size(path: Path) -> int:
    """Return the bytes held by the file or folder tree at *path* (symlinks not followed)."""
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_size if path.is_symlink() or path.exists() else 0
    total = 0
    for folder, _dirs, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                total += (Path(folder) / name).lstat().st_size
    return total


def render_size(size: int) -> str:
    """Render a byte count for people: ``512 bytes``, ``3.1 MB``."""
    if size < 1000:  # noqa: PLR2004 - decimal units
        return f"{size} bytes"
    value, unit = size / 1000, "kB"
    for bigger in ("MB", "GB"):
        if value < 1000:  # noqa: PLR2004
            break
        value, unit = value / 1000, bigger
    return f"{value:.1f} {unit}"


@dataclass(frozen=True)
class Recovery:
    """What a run found and repaired in a folder after an earlier run was killed."""

    folder: Path
    restored: tuple[str, ...] = ()  # previous folders put back under their names
    completed: tuple[str, ...] = ()  # interrupted steps finished (journals, stamps)
    removed: tuple[str, ...] = ()  # leftover temporary names removed
    removed_bytes: int = 0

    def __bool__(self) -> bool:
        return bool(self.restored or self.completed or self.removed)

    def merge(self, other: Recovery) -> Recovery:
        """Combine two recoveries of the same folder."""
        return Recovery(
            self.folder,
            self.restored + other.restored,
            self.completed + other.completed,
            self.removed + other.removed,
            self.removed_bytes + other.removed_bytes,
        )

    def render(self) -> str:
        """One line saying what was recovered."""
        parts = []
        if self.restored:
            parts.append(f"restored {', '.join(self.restored)}")
        if self.completed:
            parts.append(f"finished {', '.join(self.completed)}")
        if self.removed:
            count = len(self.removed)
            parts.append(
                f"removed {count} leftover{'s' if count > 1 else ''} "
                f"({render_size(self.removed_bytes)})"
            )
        return f"recovered {self.folder} after an interrupted run: {'; '.join(parts)}"


def is_temp_file_name(name: str) -> bool:
    """Whether *name* is a file `atomic_output` was writing when its process died."""
    return _TEMP_FILE.match(name) is not None


def _is_staging_name(name: str) -> bool:
    # ``.<name>.staging``, or ``..<name>.staging-install-*`` (a runtime being installed)
    return name.endswith(".staging") or (name.startswith("..") and ".staging-" in name)


def remove_leftovers(folder: Path, paths: Iterable[Path]) -> Recovery:
    """Remove *paths* (files or trees) and describe it as a recovery of *folder*."""
    names: list[str] = []
    size = 0
    for path in paths:
        size += compute_size(path)
        remove_tree(path)
        names.append(path.name)
    return Recovery(folder, removed=tuple(names), removed_bytes=size)


def recover_swaps(folder: Path, *, subfolders: Iterable[str] = ()) -> Recovery:
    """Repair *folder* after a run that staged or swapped folders in it was killed.

    ``.<name>.old`` is put back as ``<name>`` when nothing is there (the kill
    came between `replace_tree`'s two renames), else removed; ``.<name>.staging``
    folders, ``..<name>.staging-*`` folders (a runtime being installed) and
    `atomic_output` temporary files (also in *subfolders*) are removed.  Only
    these names are touched.  Running it again after it was killed is safe.
    """
    if not folder.is_dir():
        return Recovery(folder)
    restored: list[str] = []
    leftovers: list[Path] = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if not name.startswith("."):
            continue
        if name.endswith(".old") and entry.is_dir() and not entry.is_symlink():
            final = folder / name[1:-4]
            if final.name.startswith(".") or final.exists() or final.is_symlink():
                leftovers.append(entry)
            else:
                entry.rename(final)
                restored.append(final.name)
        elif (
            name.endswith(".staging")
            or (name.startswith("..") and ".staging-" in name)
            or is_temp_file_name(name)
        ):
            leftovers.append(entry)
    for sub in subfolders:
        if (folder / sub).is_dir():
            leftovers += [p for p in sorted((folder / sub).iterdir()) if is_temp_file_name(p.name)]
    return Recovery(folder, restored=tuple(restored)).merge(remove_leftovers(folder, leftovers))
