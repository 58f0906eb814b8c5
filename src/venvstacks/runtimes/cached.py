"""Extracted runtimes kept in the venvstacks cache, reused by hard links.

A runtime installed from a mirror archive is a function of the archive's bytes
and of the uv version that installed it (uv adds files and rewrites
``_sysconfigdata``).  After installing and cleaning it once, the result is kept
under ``runtimes-v1/<key>/runtime`` in the cache; later builds hard-link its
files into the new layer instead of extracting the archive again.

The build changes a runtime layer after installing it, so it must never write
into a file it shares with the cache.  Bytecode and layer files are written to
new files renamed into place (a new inode), and ``uv pip uninstall`` only
unlinks.  ``uv pip install`` may copy into an existing file, and it writes into
``site-packages`` and the scripts folder, so those two folders are copied, not
linked.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
from pathlib import Path

from venvstacks.fs import remove_tree, write_text

VERSION_FILE = "version.txt"
RUNTIME_FOLDER = "runtime"


def compute_runtime_key(archive_sha256: str, uv_version: str) -> str:
    """Return the cache key of a runtime installed from an archive by one uv version."""
    return hashlib.sha256(f"{archive_sha256}\0{uv_version}".encode()).hexdigest()


def _is_copied(relative: Path) -> bool:
    parts = relative.parts
    if parts[:1] in (("bin",), ("Scripts",)):
        return True
    return "site-packages" in parts


def link_tree(source: Path, destination: Path) -> None:
    """Recreate *source* at *destination* with hard links (copies where the build writes).

    Every file gets the current time as its mtime, as a fresh extraction by uv
    does, so archives (whose mtimes are clamped to the lock time) come out the
    same whether the runtime was extracted now or long ago.  Only the shared
    inode's timestamp changes; its content never does.
    """
    for dirpath, dirnames, filenames in os.walk(source):
        folder = Path(dirpath)
        relative = folder.relative_to(source)
        target = destination / relative
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(stat.S_IMODE(folder.stat().st_mode))
        for name in [*dirnames, *filenames]:
            path = folder / name
            if path.is_symlink():
                (target / name).symlink_to(path.readlink())
                if name in dirnames:
                    dirnames.remove(name)
            elif name in filenames:
                if _is_copied(relative / name):
                    shutil.copy2(path, target / name)
                else:
                    try:
                        os.link(path, target / name)
                    except OSError:  # another file system
                        shutil.copy2(path, target / name)
                os.utime(target / name)


def find_cached_runtime(entry: Path) -> tuple[Path, str] | None:
    """Return the runtime folder and Python version of a complete cache *entry*, or None."""
    try:
        version = (entry / VERSION_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    runtime = entry / RUNTIME_FOLDER
    return (runtime, version) if version and runtime.is_dir() else None


def store_runtime(installed: Path, version: str, entry: Path) -> bool:
    """Move the cleaned runtime *installed* into the cache as *entry*, atomically.

    *installed* must be on the cache's file system.  Returns False when another
    build stored the same entry first (then *installed* is left where it is).
    """
    staging = entry.with_name(f".{entry.name}.{os.getpid()}")
    remove_tree(staging)
    staging.mkdir(parents=True)
    installed.rename(staging / RUNTIME_FOLDER)
    write_text(staging / VERSION_FILE, version + "\n")
    try:
        staging.rename(entry)
    except OSError:  # stored meanwhile by a concurrent build
        (staging / RUNTIME_FOLDER).rename(installed)
        remove_tree(staging)
        return False
    return True


def mark_used(entry: Path) -> None:
    """Record that *entry* was used now (cache pruning removes the least recently used)."""
    with contextlib.suppress(OSError):
        os.utime(entry)
