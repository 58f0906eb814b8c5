"""The deploy journal: switching a target to new layers all-or-nothing, even when killed.

A deployment first prepares everything in a staging folder inside the target
(unpacked, checked, post-installed for the folder each layer will run from);
nothing visible has changed yet.  `commit` then

1. writes the journal ``TARGET/.venvstacks-deploy-journal.json`` (atomically);
2. moves the new layers in, each previous folder aside into the staging folder
   (`venvstacks.deploy.swap.move_in`), and finishes the layers whose
   ``postinstall.py`` can only run in place;
3. writes the deployment record;
4. removes the journal, then the staging folder with the previous layers.

`recover` runs first in anything that opens a target (deploy, the layer
store).  A journal means step 2 or 3 was interrupted: the switch is finished
(rolled forward: the new layers wait complete in the staging folder).  A
staging folder without a journal was left by a run killed before step 1 or
after step 4, and is removed, as are the temporary files of atomic writes.

The journal (JSON, written only by venvstacks)::

    {
      "format": 1,
      "staging": ".venvstacks-staging-k2j4h1",
      "layers": ["cpython-3.11", "framework-x@2", "app-x@1"],
      "postinstall_in_place": [],
      "record": {"app-x@1": "sha256:<hex>", "cpython-3.11": "sha256:<hex>", ...}
    }

``layers`` are moved in in that order (runtimes first); ``postinstall_in_place``
names the layers finished after the move (their ``postinstall.py`` predates
``--deployed-at``); ``record`` is the whole record to write.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from venvstacks.deploy.manifest import FolderName
from venvstacks.deploy.post_install import run_postinstall
from venvstacks.deploy.record import RECORD_NAME, write_record
from venvstacks.deploy.swap import (
    STAGING_PREFIX,
    find_staging_folders,
    move_in,
    move_out,
    remove_staging,
)
from venvstacks.errors import DeployError
from venvstacks.fs import write_json
from venvstacks.tools._subprocess import Runner, run

JOURNAL_NAME = ".venvstacks-deploy-journal.json"
JOURNAL_FORMAT: Literal[1] = 1
# fs.atomic_output's temporary files: ".<name>.<random>" beside the file.
_TEMP_PREFIXES = (f".{RECORD_NAME}.", f".{JOURNAL_NAME}.")


def _staging_name(value: str) -> str:
    if not value.startswith(STAGING_PREFIX) or "/" in value or "\\" in value:
        raise ValueError(f"{value!r} is not a staging folder name")
    return value


class Journal(BaseModel):
    """A switch in progress: what `commit` is moving into a target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = JOURNAL_FORMAT
    staging: Annotated[str, AfterValidator(_staging_name)]
    layers: tuple[FolderName, ...]
    postinstall_in_place: tuple[FolderName, ...] = ()
    record: dict[FolderName, str]


@dataclass(frozen=True)
class Recovery:
    """What `recover` did: layers switched to, leftovers removed (names, bytes)."""

    finished: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    removed_bytes: int = 0


def load_journal(target: Path) -> Journal | None:
    """Read the journal of *target* (``None`` when there is none)."""
    path = target / JOURNAL_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DeployError(f"{path}: can't read the deploy journal ({exc.strerror})") from None
    try:
        return Journal.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        detail = str(exc).splitlines()[0]
        raise DeployError(
            f"{path}: not a deploy journal venvstacks wrote ({detail}); "
            "check the layer folders, then delete it and deploy again"
        ) from None


def _roll_forward(target: Path, journal: Journal, runner: Runner) -> None:
    move_in(target, target / journal.staging, journal.layers)
    for name in journal.postinstall_in_place:
        run_postinstall(name, target / name, runner=runner)
    write_record(target, journal.record)
    (target / JOURNAL_NAME).unlink()


def commit(target: Path, journal: Journal, *, runner: Runner = run) -> None:
    """Switch *target* to the layers prepared in ``journal.staging`` (see the module docstring).

    If a move or an in-place post-install fails, the previous layers are put
    back and `DeployError` is raised; if even that fails, the journal stays
    and the next `recover` finishes the switch.
    """
    staging = target / journal.staging
    try:
        write_json(target / JOURNAL_NAME, journal.model_dump(mode="json"))
    except OSError as exc:
        remove_staging(staging)
        raise DeployError(
            f"{target}: can't write the deploy journal ({exc}); nothing was changed"
        ) from None
    try:
        _roll_forward(target, journal, runner)
    except (OSError, DeployError) as exc:
        try:
            move_out(target, staging, journal.layers)
            (target / JOURNAL_NAME).unlink()
        except OSError as undo:
            raise DeployError(
                f"{target}: the switch to the new layers failed ({exc}) and could not be "
                f"undone ({undo}); deploy again to finish it"
            ) from None
        remove_staging(staging)
        if isinstance(exc, DeployError):
            raise
        raise DeployError(
            f"{target}: could not move the new layers into place ({exc}); "
            "the previous deployment is restored"
        ) from None
    remove_staging(staging)


def recover(target: Path, *, runner: Runner = run) -> Recovery:
    """Finish an interrupted switch in *target* and remove every leftover.

    Raises `DeployError` when a journal can't be read or replayed.
    """
    finished: tuple[str, ...] = ()
    journal = load_journal(target)
    if journal is not None:
        if (target / journal.staging).is_dir():
            try:
                _roll_forward(target, journal, runner)
            except OSError as exc:
                raise DeployError(
                    f"{target / JOURNAL_NAME}: can't finish the interrupted deployment "
                    f"({exc}); fix that and deploy again"
                ) from None
            finished = journal.layers
        else:  # nothing left to move in: the record is not updated, so they count as changed
            (target / JOURNAL_NAME).unlink()
    removed: list[str] = []
    removed_bytes = 0
    for staging in find_staging_folders(target):
        removed_bytes += remove_staging(staging)
        removed.append(staging.name)
    for path in sorted(target.glob(".*")):
        if path.name.startswith(_TEMP_PREFIXES) and path.is_file():
            with contextlib.suppress(OSError):
                removed_bytes += path.stat().st_size
                path.unlink()
                removed.append(path.name)
    return Recovery(finished, tuple(removed), removed_bytes)


def render_recovery(target: Path, recovery: Recovery) -> str:
    """One line saying what `recover` did (empty when it did nothing)."""
    parts = []
    if recovery.finished:
        parts.append(f"finished the interrupted switch to {', '.join(recovery.finished)}")
    if recovery.removed:
        count = len(recovery.removed)
        size = recovery.removed_bytes / 1_000_000
        parts.append(f"removed {count} leftover{'s' * (count != 1)} ({size:.1f} MB)")
    return f"recovered {target}: {'; '.join(parts)}" if parts else ""
