"""Copying an application's launch module and support modules into its layer.

A module is a ``.py`` file or a package folder.  Folders are copied with the
source-tree filter used for module hashes: git-ignored entries, ``.git*`` names
and ``__pycache__`` folders are left out.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from venvstacks.hashing import find_source_filter


def copy_module(source: Path, site_packages: Path) -> None:
    """Copy the module at *source* into *site_packages* (replacing an earlier copy)."""
    target = site_packages / source.name
    if target.is_dir():
        shutil.rmtree(target)
    if source.is_dir():
        source_filter = find_source_filter(source)

        def ignore(directory: str, names: list[str]) -> set[str]:
            # Inside a git work tree the filter leaves out only what git ignores;
            # bytecode from the developer's machine never belongs in a layer.
            return source_filter.ignore(directory, names) | {"__pycache__"}.intersection(names)

        shutil.copytree(source, target, ignore=ignore)
    else:
        shutil.copyfile(source, target)


def copy_app_modules(spec_dir: Path, modules: Iterable[PurePosixPath], site_packages: Path) -> None:
    """Copy the launch and support modules (paths relative to the spec folder)."""
    for module in modules:
        copy_module(spec_dir / module, site_packages)
