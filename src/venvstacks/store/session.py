"""Opening a store for a command: take its lock, finish or undo what a killed command left.

Every store command except ``run`` works inside `store_session`: it holds the
store's folder lock (`venvstacks.locks`), then recovers:

* a partial unpack in ``.staging/`` and anything in ``.trash/`` are deleted;
* an unfinished gc (``.gc.json``) deletes the rest of its layer folders;
* ``releases/`` and ``current`` are rebuilt from the record if a command was
  killed between committing the record and updating them;
* temporary files of an interrupted atomic write are deleted.

Layer folders a killed ``store add`` completed or unpacked stay: the next add
of the same release uses them, and ``store gc`` deletes them if none does.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from venvstacks.errors import StoreError
from venvstacks.fs import remove_tree, write_json
from venvstacks.locks import HOLDER_NAME, LockWaitReporter, hold_folders
from venvstacks.store.layout import StoreLayout, open_layout
from venvstacks.store.links import USE_POINTER
from venvstacks.store.state import STATE_NAME, StoreState, load_state
from venvstacks.store.views import discard, empty_trash, sync_views

# Temporary files of atomic writes (the record, `current`, the lock's holder description).
_TEMP_PREFIXES = (f".{STATE_NAME}.", ".current.", "..gc.json.", f".{HOLDER_NAME}.")


@dataclass(frozen=True)
class Session:
    """An open, locked and recovered store: its layout, record and link mode."""

    layout: StoreLayout
    state: StoreState
    pointer: bool
    recovered: tuple[str, ...]


def write_gc_journal(layout: StoreLayout, folders: list[str]) -> None:
    """Record the layer folders a gc is about to delete (before the record drops them)."""
    write_json(layout.gc_journal, {"folders": sorted(folders)})


def _load_gc_journal(layout: StoreLayout) -> list[str]:
    try:
        data = json.loads(layout.gc_journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        data = {}
    folders = data.get("folders") if isinstance(data, dict) else None
    return [
        f for f in folders or () if isinstance(f, str) and "/" not in f and f not in {"", ".", ".."}
    ]


def finish_gc(layout: StoreLayout, state: StoreState) -> int:
    """Delete the journal's layer folders that no release of *state* needs; drop the journal."""
    if not layout.gc_journal.exists():
        return 0
    needed = state.folders()
    removed = 0
    for folder in _load_gc_journal(layout):
        if folder not in needed and (layout.layers / folder).exists():
            discard(layout, layout.layers / folder)
            removed += 1
    layout.gc_journal.unlink()
    return removed


def recover(layout: StoreLayout, state: StoreState, *, pointer: bool) -> tuple[str, ...]:
    """Finish or undo what a killed command left behind; return one note per thing done."""
    notes: list[str] = []
    if layout.staging.exists():
        if any(layout.staging.iterdir()):
            notes.append("removed the partial unpack of an interrupted 'store add'")
        remove_tree(layout.staging)
    if layout.gc_journal.exists():
        count = finish_gc(layout, state)
        notes.append(f"finished an interrupted 'store gc' ({count} more layer folders deleted)")
    for entry in layout.root.iterdir():
        if entry.name.startswith(_TEMP_PREFIXES):
            remove_tree(entry)
    sync_views(layout, state, pointer=pointer)
    if empty_trash(layout):
        notes.append("deleted the folders an interrupted command was deleting")
    return tuple(notes)


@contextlib.contextmanager
def store_session(
    store: Path | str,
    *,
    command: str,
    lock_timeout: float = 0.0,
    create: bool = False,
    pointer: bool = USE_POINTER,
    waiting: LockWaitReporter | None = None,
) -> Iterator[Session]:
    """Open the store *store* for *command*: locked and recovered for the block's duration.

    While another run holds the store, wait up to *lock_timeout* seconds (telling
    *waiting*), then raise `FolderLockedError`.
    """
    layout = open_layout(store, create=create)
    try:
        with hold_folders(
            [layout.root], command=f"store {command}", timeout=lock_timeout, reporter=waiting
        ):
            state = load_state(layout.root)
            notes = recover(layout, state, pointer=pointer)
            yield Session(layout, state, pointer, notes)
    except OSError as exc:
        name = exc.filename or layout.root
        raise StoreError(
            f"{name}: {exc.strerror or exc}; check the store folder's permissions and free space"
        ) from None
