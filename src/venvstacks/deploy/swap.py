"""Moving staged layers into the target folder all together, and back out on failure.

Layers are unpacked into a staging folder inside the target (the same file
system, so every move is a rename).  ``postinstall.py`` writes absolute paths
(``pyvenv.cfg``'s ``home``, the site folders in ``sitecustomize.py``), so it has
to run where the layers stay: the staged layers are moved into place first,
each previous folder renamed aside into ``<staging>/.previous/``, and then
post-installed.  If anything fails from then on, `restore` removes the new
folders and renames the previous ones back, leaving the target as it was.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from venvstacks.errors import DeployError
from venvstacks.fs import remove_tree

STAGING_PREFIX = ".venvstacks-staging-"
PREVIOUS_DIR = ".previous"


@dataclass(frozen=True)
class Move:
    """One layer moved into place: its folder and, if it replaced one, where that one went."""

    final: Path
    aside: Path | None


@contextlib.contextmanager
def staging_folder(target: Path) -> Iterator[Path]:
    """Create a staging folder inside *target*; remove it afterwards.

    It is kept only if it still holds previous layer folders that could not be
    restored (see `restore`), so nothing deployed is ever lost.
    """
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))
    try:
        yield staging
    finally:
        previous = staging / PREVIOUS_DIR
        if not previous.is_dir() or not any(previous.iterdir()):
            shutil.rmtree(staging, ignore_errors=True)


def restore(moves: Sequence[Move]) -> None:
    """Undo *moves*: remove each new folder and rename the previous one back.

    Raises `DeployError` naming the folders that could not be restored (they
    stay in the staging folder).
    """
    failed: list[str] = []
    for move in reversed(moves):
        try:
            remove_tree(move.final)
            if move.aside is not None:
                move.aside.rename(move.final)
        except OSError:
            failed.append(str(move.aside or move.final))
    if failed:
        raise DeployError(
            f"could not restore the previous deployment of {', '.join(failed)}; "
            "move those folders back by hand"
        )


def swap_in(staging: Path, target: Path, names: Sequence[str]) -> tuple[Move, ...]:
    """Move the staged layer folders *names* into *target*, previous folders aside.

    If a move fails, the ones already made are undone before the error is raised.
    """
    previous = staging / PREVIOUS_DIR
    previous.mkdir(exist_ok=True)
    moves: list[Move] = []
    try:
        for name in names:
            final = target / name
            aside = None
            if final.exists() or final.is_symlink():
                aside = previous / name
                final.rename(aside)
            moves.append(Move(final, aside))
            (staging / name).rename(final)
    except BaseException:
        restore(moves)
        raise
    return tuple(moves)


def discard_previous(staging: Path) -> None:
    """Delete the previous layer folders once the new ones are in place for good.

    Best effort: the deployment has succeeded by then, so whatever can't be
    deleted stays behind in the (hidden) staging folder.
    """
    shutil.rmtree(staging / PREVIOUS_DIR, ignore_errors=True)
