"""Checking a deployed layer against its file manifest: modified, missing and unexpected paths.

Every published layer carries ``share/venv/metadata/venvstacks_files.json`` (see
`venvstacks.file_manifest`).  A file is *modified* when its kind, size, sha256 or
executable bit differs; a symlink when its target differs; a rendered file (one
``postinstall.py`` writes on the target) only when it is not there as the right
kind.  A path on disk that the manifest does not list is *unexpected*, except
bytecode the interpreter writes on its own: ``__pycache__/<name>.<tag>.pyc``
(optionally ``.opt-N``) next to a listed ``<name>.py``.  Published layers carry
their bytecode already, compiled with unchecked hashes, so the interpreter never
rewrites a listed ``.pyc``; a changed one is a finding.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from venvstacks.deploy.verify import compute_sha256
from venvstacks.file_manifest import (
    FILE_MANIFEST_PATH,
    FileManifestError,
    FileRecord,
    parse_file_manifest,
)


@dataclass(frozen=True)
class LayerCheck:
    """What `check_layer` found in one layer folder (paths relative to it, POSIX)."""

    layer_dir: Path
    modified: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    rendered_affected: bool = False
    problem: str = ""

    @property
    def ok(self) -> bool:
        """Whether the layer matches its manifest (and had one)."""
        return not (self.modified or self.missing or self.unexpected or self.problem)


def load_layer_records(layer_dir: Path) -> list[FileRecord]:
    """Read a deployed layer's file manifest; raise `FileManifestError` saying why not."""
    path = layer_dir / FILE_MANIFEST_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileManifestError(
            "no file manifest (published without one, by venvstacks 0.8 or older); "
            "deploy it from a newer publication to verify it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileManifestError(f"can't read {FILE_MANIFEST_PATH} ({exc})") from None
    try:
        return parse_file_manifest(text)
    except FileManifestError as exc:
        raise FileManifestError(f"{FILE_MANIFEST_PATH}: {exc}") from None


def _differs(layer_dir: Path, record: FileRecord) -> bool | None:
    """Return None when the path is missing, else whether it differs from *record*."""
    path = layer_dir / record.path
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    kind = (
        "symlink" if stat.S_ISLNK(st.st_mode) else "folder" if stat.S_ISDIR(st.st_mode) else "file"
    )
    if kind != record.kind or (kind == "file" and not stat.S_ISREG(st.st_mode)):
        return True
    if record.rendered or kind == "folder":
        return False
    if kind == "symlink":
        return str(path.readlink()) != record.target
    if bool(st.st_mode & 0o100) != bool(record.mode & 0o100) or st.st_size != record.size:
        return True
    return compute_sha256(path) != record.sha256


def _walk(layer_dir: Path) -> Iterator[str]:
    for root, dirs, files in os.walk(layer_dir):
        relative = PurePosixPath(Path(root).relative_to(layer_dir).as_posix())
        for name in sorted(dirs + files):
            yield (relative / name).as_posix() if relative.parts else name


def is_interpreter_bytecode(path: str, listed: set[str]) -> bool:
    """Whether *path* is bytecode the interpreter writes for a listed ``.py`` beside it."""
    pure = PurePosixPath(path)
    if pure.name == "__pycache__":
        return True  # the folder itself; its files are judged one by one
    if pure.parent.name != "__pycache__" or pure.suffix != ".pyc":
        return False
    source = pure.parent.parent / f"{pure.name.split('.', 1)[0]}.py"
    return source.as_posix() in listed


def check_layer(layer_dir: Path) -> LayerCheck:
    """Compare the layer folder with its file manifest."""
    try:
        records = load_layer_records(layer_dir)
    except FileManifestError as exc:
        return LayerCheck(layer_dir, problem=str(exc))
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        results = list(pool.map(lambda r: _differs(layer_dir, r), records))
    modified = [r.path for r, differs in zip(records, results, strict=True) if differs]
    missing = [r.path for r, differs in zip(records, results, strict=True) if differs is None]
    listed = {r.path for r in records} | {FILE_MANIFEST_PATH.as_posix()}
    unexpected = _collapse(
        path
        for path in _walk(layer_dir)
        if path not in listed and not is_interpreter_bytecode(path, listed)
    )
    rendered = {r.path for r in records if r.rendered}
    affected = bool(rendered & (set(modified) | set(missing)))
    return LayerCheck(
        layer_dir, tuple(modified), tuple(missing), tuple(unexpected), rendered_affected=affected
    )


def _collapse(paths: Iterable[str]) -> list[str]:
    """Report an unexpected folder once, not every path inside it."""
    kept: list[str] = []
    for path in sorted(paths, key=lambda p: PurePosixPath(p).parts):
        if kept and PurePosixPath(path).is_relative_to(kept[-1]):
            continue
        kept.append(path)
    return kept
