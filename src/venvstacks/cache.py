"""The venvstacks cache folder: compiled bytecode and extracted runtimes, reused across builds.

Everything in it is content-addressed (the name of an entry is a hash of what it
was made from), so an entry never changes once written.  Entries are written to
a temporary name and renamed into place, so concurrent builds share the folder
without a lock: a reader sees a whole entry or none, and readers check what they
take anyway.  Deleting the folder (or any part of it) at any time is safe; a
build that misses an entry makes it again.

Layout (``<cache>`` is `find_cache_dir`)::

    <cache>/CACHEDIR.TAG            marks the folder for backup tools
    <cache>/pyc-v1/<k[:2]>/<k>.pyc  compiled bytecode (see builder/_pyc_worker.py)
    <cache>/runtimes-v1/<sha256>/   cleaned runtime installs, by archive hash
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from venvstacks.errors import VenvStacksError
from venvstacks.fs import remove_tree, write_text

CACHE_ENV_VAR = "VENVSTACKS_CACHE_DIR"
MAX_SIZE_ENV_VAR = "VENVSTACKS_CACHE_MAX_SIZE"
DEFAULT_MAX_SIZE = 2 * 1024**3
BYTECODE_FOLDER = "pyc-v1"
RUNTIMES_FOLDER = "runtimes-v1"
_KINDS = (BYTECODE_FOLDER, RUNTIMES_FOLDER)
# https://bford.info/cachedir/: backup tools skip folders holding this file.
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file marks the venvstacks cache folder (https://bford.info/cachedir/).\n"
)
_SIZE = re.compile(r"(?i)^\s*(\d+)\s*([kmgt]?)i?b?\s*$")


def find_cache_dir(
    environ: Mapping[str, str], platform: str = sys.platform, home: Path | None = None
) -> Path:
    r"""Return the cache folder: ``$VENVSTACKS_CACHE_DIR``, else the platform's user cache folder.

    Linux and other POSIX systems: ``$XDG_CACHE_HOME/venvstacks`` (default
    ``~/.cache/venvstacks``); macOS: ``~/Library/Caches/venvstacks``; Windows:
    ``%LOCALAPPDATA%\venvstacks\Cache``.
    """
    if environ.get(CACHE_ENV_VAR):
        return Path(environ[CACHE_ENV_VAR]).expanduser().absolute()
    home = home if home is not None else Path.home()
    if platform == "win32":
        local = environ.get("LOCALAPPDATA")
        base = Path(local) if local else home / "AppData" / "Local"
        return base / "venvstacks" / "Cache"
    if platform == "darwin":
        return home / "Library" / "Caches" / "venvstacks"
    xdg = environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache"
    return base / "venvstacks"


def parse_size(text: str) -> int:
    """Parse a size such as ``2G``, ``500MiB`` or ``1048576`` into bytes (powers of 1024)."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size (examples: 2G, 500M, 1048576)")
    number, unit = match.groups()
    return int(number) << (10 * " kmgt".index(unit.lower() or " "))


def find_max_size(environ: Mapping[str, str]) -> int:
    """Return the size bound of the cache: ``$VENVSTACKS_CACHE_MAX_SIZE``, else 2 GiB."""
    text = environ.get(MAX_SIZE_ENV_VAR, "")
    try:
        return parse_size(text) if text else DEFAULT_MAX_SIZE
    except ValueError as exc:
        raise VenvStacksError(f"{MAX_SIZE_ENV_VAR}: {exc}") from None


def prepare_cache_dir(root: Path) -> None:
    """Create the cache folder and its ``CACHEDIR.TAG`` if they are missing."""
    tag = root / "CACHEDIR.TAG"
    if not tag.exists():
        write_text(tag, _CACHEDIR_TAG)


@dataclass(frozen=True)
class CacheEntry:
    """One removable unit of the cache: a bytecode file or a whole runtime folder."""

    path: Path
    size: int
    last_used: float


@dataclass(frozen=True)
class CacheInfo:
    """What ``venvstacks cache info`` reports, per kind of entry."""

    root: Path
    bytecode_entries: int
    bytecode_bytes: int
    runtime_entries: int
    runtime_bytes: int

    @property
    def total_bytes(self) -> int:
        """The size of every entry together."""
        return self.bytecode_bytes + self.runtime_bytes


def _tree_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            try:
                total += Path(dirpath, name).lstat().st_size
            except OSError:
                continue  # removed meanwhile by another build or a clean
    return total


def iter_cache_entries(root: Path, kind: str) -> Iterator[CacheEntry]:
    """Yield the entries of one kind (`BYTECODE_FOLDER` or `RUNTIMES_FOLDER`)."""
    folder = root / kind
    if kind == RUNTIMES_FOLDER:
        children = sorted(folder.iterdir()) if folder.is_dir() else []
        for child in children:
            if child.is_dir() and not child.name.startswith("."):
                try:
                    used = child.stat().st_mtime
                except OSError:
                    continue
                yield CacheEntry(child, _tree_size(child), used)
        return
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath, name)
            try:
                st = path.lstat()
            except OSError:
                continue
            yield CacheEntry(path, st.st_size, st.st_mtime)


def compute_cache_info(root: Path) -> CacheInfo:
    """Count the entries of the cache at *root* and their sizes."""
    bytecode = list(iter_cache_entries(root, BYTECODE_FOLDER))
    runtimes = list(iter_cache_entries(root, RUNTIMES_FOLDER))
    return CacheInfo(
        root,
        len(bytecode),
        sum(e.size for e in bytecode),
        len(runtimes),
        sum(e.size for e in runtimes),
    )


def compute_prune_victims(entries: list[CacheEntry], max_size: int) -> list[CacheEntry]:
    """Pure: the least recently used entries to remove so the rest fits in *max_size* bytes."""
    total = sum(e.size for e in entries)
    victims = []
    for entry in sorted(entries, key=lambda e: (e.last_used, str(e.path))):
        if total <= max_size:
            break
        victims.append(entry)
        total -= entry.size
    return victims


def prune_cache(root: Path, max_size: int) -> int:
    """Remove least recently used entries until the cache fits in *max_size*; return bytes freed.

    Builds mark an entry used by updating its mtime.  Removing an entry never
    affects a built layer: a layer holds its own hard link to the file.
    """
    entries = [e for kind in _KINDS for e in iter_cache_entries(root, kind)]
    freed = 0
    for victim in compute_prune_victims(entries, max_size):
        try:
            remove_tree(victim.path)
        except OSError:
            continue  # another build is using or removing it; try again next time
        freed += victim.size
    return freed


def clean_cache(root: Path) -> CacheInfo:
    """Remove every entry of the cache at *root*; return what was there."""
    info = compute_cache_info(root)
    for kind in _KINDS:
        remove_tree(root / kind)
    return info
