"""File-system helpers shared by every stage: atomic writes and folder swaps."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_output(destination: Path) -> Iterator[IO[bytes]]:
    """Open a temporary file beside *destination*; rename it into place on success.

    On any exception the temporary file is removed and *destination* is untouched.
    An `OSError` that names no file, or only the temporary one (a full disk
    while writing), is raised again naming *destination*.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
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


def replace_tree(staged: Path, destination: Path) -> None:
    """Move the folder *staged* to *destination*, replacing what was there.

    The old folder is first renamed aside and only deleted once the new one is
    in place, so a crash leaves either the old or the new folder under the name.
    """
    aside = destination.with_name(f".{destination.name}.old")
    remove_tree(aside)
    if destination.exists() or destination.is_symlink():
        destination.rename(aside)
    staged.rename(destination)
    remove_tree(aside)
