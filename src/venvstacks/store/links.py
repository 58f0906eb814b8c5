"""Links between store folders, and the ``current`` pointer.

On Linux and macOS every link is a relative symlink, so the links hold no
absolute path, and ``current`` is a symlink replaced by a rename (atomic).
Windows needs a privilege for symlinks, so there folder links are directory
junctions (absolute; any user may create them) and ``current`` is a small
pointer file holding the release id, replaced by a rename; launchers read it
or use ``venvstacks store run``.  The pointer format is pure and tested on
every platform (`render_pointer`, `parse_pointer`), and the pointer mode can
be chosen on any platform (``pointer=True``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from venvstacks.fs import write_text

USE_POINTER = os.name == "nt"


def render_pointer(release_id: int) -> str:
    """Render the pointer file naming the current release: ``<id>`` and a newline."""
    return f"{release_id}\n"


def parse_pointer(text: str) -> int | None:
    """Return the release id a pointer file (or a symlink target ``releases/<id>``) names."""
    value = text.strip().removeprefix("releases/").removeprefix("releases\\")
    return int(value) if value.isdigit() and int(value) > 0 else None


def render_current_target(release_id: int) -> str:
    """Return the target of the ``current`` symlink: ``releases/<id>``."""
    return f"releases/{release_id}"


def make_folder_link(path: Path, target: str, *, final_dir: Path | None = None) -> None:
    """Create *path* as a link to the folder *target*, relative to the link's folder.

    *final_dir* is the folder the link will end up in when it is created in a
    staging folder first: a junction's absolute target is resolved from there.
    """
    if sys.platform == "win32":
        import _winapi  # noqa: PLC0415 - Windows only

        anchor = path.parent if final_dir is None else final_dir
        _winapi.CreateJunction(os.path.normpath(anchor / target), str(path))
    else:
        path.symlink_to(target, target_is_directory=True)


def read_link(path: Path) -> str | None:
    """Return what the link *path* points to (as written), or None if it is no link."""
    try:
        # Junctions read back absolute, in the extended-length form on Windows.
        return str(path.readlink()).removeprefix("\\\\?\\").replace("\\", "/")
    except OSError:
        return None


def read_current(current: Path, *, pointer: bool = USE_POINTER) -> int | None:
    """Return the release ``current`` names, or None if there is none (or it is unreadable)."""
    if pointer:
        try:
            return parse_pointer(current.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None
    target = read_link(current)
    return None if target is None else parse_pointer(target)


def write_current(current: Path, release_id: int, *, pointer: bool = USE_POINTER) -> None:
    """Point ``current`` at *release_id* with one rename (a launcher sees old or new, never none)."""
    if pointer:
        write_text(current, render_pointer(release_id))
        return
    tmp = Path(tempfile.mktemp(prefix=".current.", dir=current.parent))  # noqa: S306 - symlink_to fails if it exists
    tmp.symlink_to(render_current_target(release_id), target_is_directory=True)
    try:
        tmp.replace(current)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
