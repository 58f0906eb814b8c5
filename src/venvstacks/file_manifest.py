"""A layer's file manifest: every path it ships, so a deployed layer can be checked later.

``share/venv/metadata/venvstacks_files.json`` is written into each published (and
exported) layer.  It lists every folder, file and symlink of the layer with its
kind and normalised mode, plus each file's size and sha256 and each symlink's
target.  Files that ``postinstall.py`` writes on the target (``pyvenv.cfg``,
``sitecustomize.py``, ``bin/python``) are listed as ``rendered``: their content
depends on where the layer is deployed, so only their existence and kind can be
checked.  The manifest does not list itself.  Publish writes it (from the
archive entries); ``venvstacks verify`` reads it.  Format::

    {"format": "venvstacks-files/1",
     "files": [{"path": "bin", "kind": "folder", "mode": "0755"},
               {"path": "bin/python", "kind": "symlink", "target": "...", "mode": "0777"},
               {"path": "lib/x.py", "kind": "file", "size": 12, "sha256": "...", "mode": "0644"},
               {"path": "pyvenv.cfg", "kind": "file", "rendered": true, "mode": "0644"}]}

Paths are POSIX, relative to the layer folder, sorted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from venvstacks.archives import ArchiveEntry

FILE_MANIFEST_PATH = PurePosixPath("share/venv/metadata/venvstacks_files.json")
FORMAT = "venvstacks-files/1"
FileKind = Literal["file", "symlink", "folder"]
# Archive entry kinds -> file manifest kinds.
ENTRY_KINDS: dict[str, FileKind] = {"file": "file", "symlink": "symlink", "dir": "folder"}


class FileManifestError(ValueError):
    """A file manifest that can't be read."""


@dataclass(frozen=True)
class FileRecord:
    """One path of a layer as published."""

    path: str
    kind: FileKind
    mode: int
    size: int = 0
    sha256: str = ""
    target: str = ""
    rendered: bool = False


def compute_mode(kind: FileKind, executable: bool) -> int:
    """Return the normalised mode archives store (and deploy writes) for a path."""
    if kind == "symlink":
        return 0o777
    return 0o755 if kind == "folder" or executable else 0o644


def compute_file_records(
    entries: Iterable[ArchiveEntry], rendered: Iterable[tuple[str, FileKind]]
) -> list[FileRecord]:
    """Return the records of a layer's archive *entries* plus its *rendered* paths.

    A rendered path that is also an entry (``bin/python``) keeps the entry's kind
    but loses its content: postinstall.py writes it again on the target.
    """
    rendered_kinds = dict(rendered)
    records: dict[str, FileRecord] = {}
    for entry in entries:
        path = entry.name.as_posix()
        kind = ENTRY_KINDS[entry.kind]
        mode = compute_mode(kind, entry.executable)
        if path in rendered_kinds:
            records[path] = FileRecord(path, kind, mode, rendered=True)
        elif kind == "file":
            data = entry.read()
            digest = hashlib.sha256(data).hexdigest()
            records[path] = FileRecord(path, kind, mode, size=len(data), sha256=digest)
        else:
            records[path] = FileRecord(path, kind, mode, target=entry.target)
    for path, kind in rendered_kinds.items():
        records.setdefault(path, FileRecord(path, kind, compute_mode(kind, False), rendered=True))
    return [records[path] for path in sorted(records, key=lambda p: PurePosixPath(p).parts)]


def render_file_manifest(records: Sequence[FileRecord]) -> str:
    """Render the manifest as JSON (sorted keys, one record per line, final newline)."""
    lines = []
    for record in records:
        item: dict[str, object] = {
            "path": record.path,
            "kind": record.kind,
            "mode": f"{record.mode:04o}",
        }
        if record.rendered:
            item["rendered"] = True
        elif record.kind == "file":
            item.update(size=record.size, sha256=record.sha256)
        elif record.kind == "symlink":
            item["target"] = record.target
        lines.append(json.dumps(item, sort_keys=True))
    body = ",\n    ".join(lines)
    return f'{{\n  "files": [\n    {body}\n  ],\n  "format": "{FORMAT}"\n}}\n'


def _record(item: object, index: int) -> FileRecord:
    if not isinstance(item, dict):
        raise FileManifestError(f"files[{index}] is not an object")
    try:
        kind = item["kind"]
        if kind not in ("file", "symlink", "folder"):
            raise FileManifestError(f"files[{index}].kind: {kind!r} is not file, symlink or folder")
        path = str(item["path"])
        parts = PurePosixPath(path).parts
        if not parts or path.startswith("/") or "\\" in path or {"..", "."} & set(parts):
            raise FileManifestError(f"files[{index}].path: {path!r} is not a path inside the layer")
        return FileRecord(
            path=path,
            kind=kind,
            mode=int(str(item["mode"]), 8),
            size=int(item.get("size", 0)),
            sha256=str(item.get("sha256", "")),
            target=str(item.get("target", "")),
            rendered=bool(item.get("rendered", False)),
        )
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, FileManifestError):
            raise
        raise FileManifestError(f"files[{index}]: {exc!r} is missing or malformed") from None


def parse_file_manifest(text: str) -> list[FileRecord]:
    """Parse a file manifest; raise `FileManifestError` naming what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FileManifestError(f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FileManifestError(f"not a {FORMAT} file manifest")
    files = data.get("files")
    if not isinstance(files, list):
        raise FileManifestError("files: not a list")
    return [_record(item, index) for index, item in enumerate(files)]
