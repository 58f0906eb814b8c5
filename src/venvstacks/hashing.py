"""Content hashes of strings, files and source trees (compatible with venvstacks 0.8).

The hash spellings are part of the lock metadata format, so they follow the
original exactly: ``<algorithm>:<hex>`` for strings and files, and
``<algorithm>/<hex>`` (slash) for directories.

Directory hashes only cover a *source tree*: inside a git work tree (found by
walking up to a ``.git`` folder) git-ignored entries and any name starting with
``.git`` are left out; elsewhere only ``__pycache__`` is.  Git's own rules are
applied by asking ``git check-ignore`` rather than re-implementing gitignore.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from venvstacks.errors import ToolError
from venvstacks.tools._subprocess import Runner, run

DEFAULT_ALGORITHM = "sha256"

# Without a usable git, the names the original never ships from a source tree.
_ALWAYS_IGNORED = frozenset({"__pycache__"})
# Keep each `git check-ignore` command line well below Windows' 32k limit.
_MAX_ARGS_CHARS = 8000


def _render(digest: str, algorithm: str, separator: str, *, omit_prefix: bool) -> str:
    return digest if omit_prefix else f"{algorithm}{separator}{digest}"


def hash_strings(
    items: Iterable[str], algorithm: str = DEFAULT_ALGORITHM, *, omit_prefix: bool = False
) -> str:
    """Hash the UTF-8 bytes of *items*, concatenated without separators: ``sha256:<hex>``."""
    digest = hashlib.new(algorithm)
    for item in items:
        digest.update(item.encode("utf-8"))
    return _render(digest.hexdigest(), algorithm, ":", omit_prefix=omit_prefix)


def hash_file_contents(
    path: Path, algorithm: str = DEFAULT_ALGORITHM, *, omit_prefix: bool = False
) -> str:
    """Hash the bytes of the file at *path*: ``sha256:<hex>``; ``""`` if it does not exist."""
    if not path.exists():
        return ""
    with path.open("rb") as stream:
        digest = hashlib.file_digest(stream, algorithm).hexdigest()
    return _render(digest, algorithm, ":", omit_prefix=omit_prefix)


def hash_file_name_and_contents(
    path: Path, algorithm: str = DEFAULT_ALGORITHM, *, omit_prefix: bool = False
) -> str:
    """Hash a file's name followed by its prefixed content hash, so renames change it too.

    Returns ``sha256:<hex>``, or ``""`` if the file does not exist.
    """
    contents = hash_file_contents(path, algorithm)
    if not contents:
        return ""
    return hash_strings([path.name, contents], algorithm, omit_prefix=omit_prefix)


def find_git_work_tree(path: Path) -> Path | None:
    """Return the nearest folder at or above *path* holding a ``.git`` folder, if any."""
    for folder in (path, *path.parents):
        if (folder / ".git").is_dir():
            return folder
    return None


# git C-quotes names holding these in its output, even with core.quotePath=false.
_QUOTED_CHARS = frozenset('"\\\x7f' + "".join(map(chr, range(0x20))))


def _needs_quoting(name: str) -> bool:
    return not _QUOTED_CHARS.isdisjoint(name)


def _chunks(names: Sequence[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for name in names:
        if chunk and size + len(name) > _MAX_ARGS_CHARS:
            yield chunk
            chunk, size = [], 0
        chunk.append(name)
        size += len(name) + 1
    if chunk:
        yield chunk


@dataclass(frozen=True)
class SourceFilter:
    """Decides which entries of a source folder belong to the source tree.

    ``git_work_tree`` is the enclosing git work tree (``None`` outside one) and
    ``git`` the git executable (``None`` when git is not installed, in which case
    only ``.git*`` names and ``__pycache__`` are left out of a work tree).
    """

    git_work_tree: Path | None
    git: str | None = None
    runner: Runner = run

    def ignore(self, directory: str | os.PathLike[str], names: Sequence[str]) -> set[str]:
        """Return the *names* in *directory* to leave out (a `shutil.copytree` ``ignore``)."""
        if self.git_work_tree is None:
            return {name for name in names if name in _ALWAYS_IGNORED}
        ignored = {name for name in names if name.startswith(".git")}
        candidates = [name for name in names if name not in ignored]
        from_git = self._check_ignore(Path(directory), candidates)
        if from_git is None:
            from_git = {name for name in candidates if name in _ALWAYS_IGNORED}
        return ignored | from_git

    def _check_ignore(self, directory: Path, names: list[str]) -> set[str] | None:
        # `git check-ignore` prints the ignored names as given (tracked files are
        # never reported, like dulwich's check_ignore in 0.8), so plain names go
        # in batches; names git would C-quote are asked about one at a time.
        # Returns None when git can't answer (not installed, not a usable repo).
        plain = [name for name in names if not _needs_quoting(name)]
        quoted = [name for name in names if _needs_quoting(name)]
        ignored: set[str] = set()
        for batch in [*_chunks(plain), *([name] for name in quoted)]:
            stdout = self._run_check_ignore(directory, batch)
            if stdout is None:
                return None
            if batch[0] in quoted:
                ignored.update(batch if stdout else ())
            else:
                ignored.update(set(batch).intersection(stdout.split("\n")))
        return ignored

    def _run_check_ignore(self, directory: Path, names: list[str]) -> str | None:
        if self.git is None:
            return None
        args = [self.git, "-c", "core.quotePath=false", "check-ignore", "--", *names]
        try:
            result = self.runner(args, cwd=directory, check=False)
        except ToolError:  # git could not be started after all
            return None
        # Exit code 1 means "nothing ignored"; anything else is a git failure.
        if result.returncode == 1:
            return ""
        return result.stdout if result.returncode == 0 else None


def find_source_filter(path: Path, *, runner: Runner = run) -> SourceFilter:
    """Return the source filter for the tree holding *path* (see the module docstring)."""
    work_tree = find_git_work_tree(path.absolute())
    git = shutil.which("git") if work_tree is not None else None
    return SourceFilter(work_tree, git, runner)


def walk_source_tree(
    path: Path, source_filter: SourceFilter
) -> Iterator[tuple[Path, list[str], list[str]]]:
    """Walk *path* top-down like `os.walk`, sorted, leaving out what *source_filter* ignores.

    As in 0.8, *path* itself is filtered as an entry of its parent folder
    (unless it is the work tree's root): an ignored folder yields nothing.
    """
    top = path.absolute()
    if top != source_filter.git_work_tree and source_filter.ignore(top.parent, [top.name]):
        return
    for dirpath, dirnames, filenames in os.walk(path):
        folder = Path(dirpath)
        ignored = source_filter.ignore(folder, [*dirnames, *filenames])
        dirnames[:] = sorted(name for name in dirnames if name not in ignored)
        yield folder, dirnames, sorted(name for name in filenames if name not in ignored)


def hash_directory(
    path: Path,
    algorithm: str = DEFAULT_ALGORITHM,
    *,
    omit_prefix: bool = False,
    source_filter: SourceFilter | None = None,
) -> str:
    """Hash a source tree: ``sha256/<hex>`` (slash, as in venvstacks 0.8).

    Folders are visited top-down with sorted subfolders; each visited folder
    feeds its name, then each of its files (sorted) feeds its name and its
    ``<algorithm>:<hex>`` content hash.  Empty folders still feed their names.
    """
    if source_filter is None:
        source_filter = find_source_filter(path)
    digest = hashlib.new(algorithm)
    top = path.absolute()
    for folder, _dirnames, filenames in walk_source_tree(top, source_filter):
        digest.update(folder.name.encode("utf-8"))
        for name in filenames:
            digest.update(name.encode("utf-8"))
            digest.update(hash_file_contents(folder / name, algorithm).encode("utf-8"))
    return _render(digest.hexdigest(), algorithm, "/", omit_prefix=omit_prefix)


def hash_module(path: Path, *, source_filter: SourceFilter | None = None) -> str:
    """Hash a launch or support module: a ``.py`` file by name and contents, a package as a tree."""
    if path.is_dir():
        return hash_directory(path, source_filter=source_filter)
    return hash_file_name_and_contents(path)
