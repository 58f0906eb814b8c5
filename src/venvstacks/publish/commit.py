"""Committing a publication so that the output folder is always complete and deployable.

A publication is the manifest (``__venvstacks__/venvstacks[-<platform>].json``),
the per-layer metadata and the archives they name.  Publishing first writes
every new archive under a hidden staged name (``.<archive>.staged``); nothing a
deployer reads changes until then.  The commit, recorded beforehand in a
journal (``__venvstacks__/.publish-journal.json``), then:

1. keeps every archive about to be overwritten that metadata still names: it
   is hard-linked to ``.held-<archive>`` and the metadata naming it is pointed
   there (each file rewritten atomically), so the previous publication stays
   complete while an incremental publish rewrites an archive under its name;
2. renames the staged archives to their names;
3. writes the per-layer metadata, then the manifest, last, atomically;
4. removes the journal and the held archives no metadata names any more.

At every instant the manifest describes a complete publication, the previous
one or the new one, and no archive it names is replaced or removed.  A run
killed during the commit leaves the journal: the next publish finishes the
commit (`recover_publication`), then removes every leftover temporary name.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from venvstacks.fs import (
    Recovery,
    is_temp_file_name,
    recover_swaps,
    remove_leftovers,
    render_json,
    write_json,
    write_text,
)
from venvstacks.hashing import hash_file_contents, hash_strings
from venvstacks.publish.manifest import METADATA_HASHES_FIELD, write_manifest
from venvstacks.publish.metadata import METADATA_DIR
from venvstacks.signing import SecretKey

JOURNAL_NAME = ".publish-journal.json"
HOLD_PREFIX = ".held-"
STAGED_SUFFIX = ".staged"


def compute_staged_name(archive_name: str) -> str:
    """Return the hidden name an archive is written under before the commit."""
    return f".{archive_name}{STAGED_SUFFIX}"


@dataclass(frozen=True)
class PublicationChange:
    """What a commit does: staged archives to rename, metadata files to write (manifest last).

    Names and paths are relative to the output folder (POSIX separators).
    """

    moves: tuple[tuple[str, str], ...]  # (staged name, archive name)
    writes: tuple[tuple[str, str | None], ...]  # (metadata path, text; None: remove it)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _metadata_files(output_dir: Path) -> list[Path]:
    folder = output_dir / METADATA_DIR
    if not folder.is_dir():
        return []
    files = [*folder.glob("*.json"), *folder.glob("env_metadata/*.json")]
    return sorted(p for p in files if not p.name.startswith("."))


def _entries(data: Any) -> Iterator[dict[str, Any]]:
    """Yield the layer entries of a manifest, or the one entry a per-layer file is."""
    if not isinstance(data, dict):
        return
    layers = data.get("layers")
    if isinstance(layers, dict):
        for entries in layers.values():
            if isinstance(entries, list):
                yield from (e for e in entries if isinstance(e, dict))
    elif "archive_name" in data:
        yield data


def find_named_archives(output_dir: Path) -> set[str]:
    """Return every archive name that the folder's metadata (any manifest or layer file) names."""
    return {
        str(entry["archive_name"])
        for path in _metadata_files(output_dir)
        for entry in _entries(_load_json(path))
        if "archive_name" in entry
    }


def _retarget(
    output_dir: Path, archive_name: str, sha256: str, hold_name: str, sign_key: SecretKey | None
) -> None:
    """Point the metadata entries naming *archive_name* with these bytes at *hold_name*.

    A manifest entry's hash of its layer's metadata file follows the change, and
    a changed manifest is signed again with *sign_key* (without one, a stale
    signature is removed).
    """
    for path in _metadata_files(output_dir):
        data = _load_json(path)
        changed = False
        for entry in _entries(data):
            hashes = entry.get("archive_hashes")
            if (
                entry.get("archive_name") == archive_name
                and isinstance(hashes, dict)
                and hashes.get("sha256") == sha256
            ):
                entry["archive_name"] = hold_name
                if METADATA_HASHES_FIELD in entry:
                    metadata = {k: v for k, v in entry.items() if k != METADATA_HASHES_FIELD}
                    digest = hash_strings([render_json(metadata)], omit_prefix=True)
                    entry[METADATA_HASHES_FIELD] = {"sha256": digest}
                changed = True
        if changed and "layers" in data:
            write_manifest(path, data, sign_key)
        elif changed:
            write_json(path, data)


def _hold(output_dir: Path, archive_name: str) -> tuple[str, str]:
    """Keep the current bytes of *archive_name* under its hold name; return (hold, sha256)."""
    archive = output_dir / archive_name
    hold = output_dir / f"{HOLD_PREFIX}{archive_name}"
    if not hold.exists():
        temp = output_dir / f".{hold.name}.staging"
        temp.unlink(missing_ok=True)
        try:
            os.link(archive, temp)
        except OSError:  # no hard links on this file system: copy
            shutil.copyfile(archive, temp)
        temp.replace(hold)
    return hold.name, hash_file_contents(hold, omit_prefix=True)


def _plan_holds(output_dir: Path, moves: Sequence[tuple[str, str]]) -> list[str]:
    named = find_named_archives(output_dir)
    return [final for _, final in moves if final in named and (output_dir / final).is_file()]


def _apply(output_dir: Path, journal: Mapping[str, Any], sign_key: SecretKey | None = None) -> None:
    for final in journal["holds"]:
        held = (output_dir / f"{HOLD_PREFIX}{final}").exists()
        if not held and not (output_dir / final).is_file():
            continue  # removed by hand since: nothing left to keep
        hold_name, sha256 = _hold(output_dir, final)
        _retarget(output_dir, final, sha256, hold_name, sign_key)
    for staged, final in journal["moves"]:
        if (output_dir / staged).is_file():
            (output_dir / staged).replace(output_dir / final)
    for relative, text in journal["writes"]:
        path = output_dir / relative
        if text is None:
            path.unlink(missing_ok=True)
            continue
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            write_text(path, text)
    (output_dir / METADATA_DIR / JOURNAL_NAME).unlink()
    named = find_named_archives(output_dir)
    for final in journal["holds"]:
        hold = output_dir / f"{HOLD_PREFIX}{final}"
        if hold.name not in named:
            hold.unlink(missing_ok=True)


def commit_publication(
    output_dir: Path, change: PublicationChange, *, sign_key: SecretKey | None = None
) -> None:
    """Swap *change* into *output_dir* (see the module docstring).

    *sign_key* signs the intermediate manifest that points at held archives.
    """
    journal = {
        "holds": _plan_holds(output_dir, change.moves),
        "moves": [list(move) for move in change.moves],
        "writes": [list(write) for write in change.writes],
    }
    write_json(output_dir / METADATA_DIR / JOURNAL_NAME, journal)
    _apply(output_dir, journal, sign_key)


def _valid_journal(output_dir: Path, data: Any) -> bool:
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), list) for key in ("holds", "moves", "writes")
    ):
        return False
    return all(
        (output_dir / staged).is_file() or (output_dir / final).is_file()
        for staged, final in data["moves"]
    )


def _is_leftover(name: str, named: set[str]) -> bool:
    if name in named or not name.startswith("."):
        return False
    return (
        name.endswith((STAGED_SUFFIX, ".staging"))
        or name.startswith(HOLD_PREFIX)
        or is_temp_file_name(name)
    )


def recover_publication(output_dir: Path) -> Recovery:
    """Finish an interrupted commit in *output_dir*, then remove leftover temporary names.

    An interrupted commit is finished from its journal.  A journal whose staged
    archives are gone is dropped: every state a commit passes through is a
    complete publication, so nothing needs undoing.  Held and staged archives
    that metadata still names are kept.
    """
    recovery = Recovery(output_dir)
    journal_path = output_dir / METADATA_DIR / JOURNAL_NAME
    if journal_path.exists():
        data = _load_json(journal_path)
        if _valid_journal(output_dir, data):
            _apply(output_dir, data)
            recovery = Recovery(output_dir, completed=("the interrupted publication",))
        else:
            journal_path.unlink()
            recovery = Recovery(output_dir, removed=(JOURNAL_NAME,))
    if not output_dir.is_dir():
        return recovery
    named = find_named_archives(output_dir)
    leftovers = [p for p in sorted(output_dir.iterdir()) if _is_leftover(p.name, named)]
    recovery = recovery.merge(remove_leftovers(output_dir, leftovers))
    return recovery.merge(
        recover_swaps(output_dir / METADATA_DIR, subfolders=("env_metadata", "sbom"))
    )
