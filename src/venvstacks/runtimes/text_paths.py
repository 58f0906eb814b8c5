"""Finding and replacing an absolute folder path inside a runtime's text files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from venvstacks.archives import iter_tree
from venvstacks.runtimes.elf import is_elf

# The prefix official python-build-standalone archives were built with; uv
# rewrites it to the real location in `_sysconfigdata*.py` when it installs one.
PLACEHOLDER_PREFIX = b"/install"


def iter_text_files_containing(root: Path, needle: bytes) -> Iterator[tuple[Path, bytes]]:
    """Yield (path, content) for each non-ELF text file under *root* containing *needle*."""
    for path in iter_tree(root):
        if path.is_symlink() or not path.is_file() or is_elf(path):
            continue
        content = path.read_bytes()
        if needle in content and b"\0" not in content:
            yield path, content


def write_keeping_mtime(path: Path, content: bytes) -> None:
    """Replace *path*'s content without changing its mtime (archives stay reproducible)."""
    st = path.stat()
    path.write_bytes(content)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def neutralise_prefix(root: Path, old_prefix: Path) -> list[Path]:
    """Replace *old_prefix* by the placeholder prefix in every text file under *root*."""
    old = os.fsencode(old_prefix)
    changed = []
    for path, content in iter_text_files_containing(root, old):
        write_keeping_mtime(path, content.replace(old, PLACEHOLDER_PREFIX))
        changed.append(path)
    return changed
