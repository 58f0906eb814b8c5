"""Packages a layer's spec keeps out of its build (``exclude_packages``).

The layer's lock still lists them, so resolution (and every layer's view of
the versions) is unchanged; the build installs from a copy of the pylock
without them.  The copy lives outside the lock folder, so its local ``path``
entries (wheels, sdists, directories) are made absolute against the lock
folder they were written relative to.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import tomlkit
from packaging.utils import canonicalize_name

_PATH_TABLES = ("wheels", "sdist", "directory", "archive")


def _absolute(item: Any, base: Path) -> None:
    if isinstance(item, list):
        for entry in item:
            _absolute(entry, base)
    elif isinstance(item, dict) and isinstance(item.get("path"), str):
        item["path"] = (base / item["path"]).resolve().as_posix()


def render_install_pylock(text: str, lock_dir: Path, exclude: Collection[str]) -> str:
    """Return the pylock *text* without the packages named in *exclude* (canonical names).

    Relative paths in the result are absolute, resolved against *lock_dir*.
    """
    document = tomlkit.parse(text)
    packages = document.get("packages", [])
    kept = [p for p in packages if canonicalize_name(str(p.get("name", ""))) not in exclude]
    for package in kept:
        for key in _PATH_TABLES:
            if key in package:
                _absolute(package[key], lock_dir)
    table = tomlkit.aot()
    for package in kept:
        table.append(package)
    document["packages"] = table
    return tomlkit.dumps(document)
