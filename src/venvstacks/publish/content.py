"""What goes into a layer's archive (or local export), taken from its build folder.

Left out: hidden top-level entries (``.lock`` and the like), ``pyvenv.cfg`` and
``sitecustomize.py`` (``postinstall.py`` writes both on the machine the layer is
deployed to).  Kept, unlike venvstacks 0.8: ``__pycache__`` folders, since their
bytecode was compiled reproducibly at build time so deployed layers need no
compilation.  A layered environment's ``bin/python`` (and ``bin/python_``)
is re-pointed from the build folder's sibling names to the deployed ones.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from venvstacks._injected.postinstall import LAYER_CONFIG_PATH, render_python_wrapper
from venvstacks.archives import ArchiveEntry, collect_entries

DEPLOY_RENDERED = ("pyvenv.cfg", "sitecustomize.py")


def load_layer_config(layer_dir: Path) -> dict[str, Any]:
    """Read a built layer's ``venvstacks_layer.json`` as written at build time."""
    data: dict[str, Any] = json.loads((layer_dir / LAYER_CONFIG_PATH).read_text(encoding="utf-8"))
    return data


def compute_excluded(name: PurePosixPath, site_dir: PurePosixPath) -> bool:
    """Whether a path of the build folder stays out of the published layer."""
    if len(name.parts) == 1:
        return name.name.startswith(".") or name.name == "pyvenv.cfg"
    return name == site_dir / "sitecustomize.py"


def compute_python_entries(
    layer_dir: Path, config: dict[str, Any]
) -> dict[PurePosixPath, ArchiveEntry]:
    """Return the deployed ``bin/python`` entries of a layered environment (POSIX)."""
    if config["python"] == config["base_python"] or sys.platform == "win32":
        return {}
    bin_dir = layer_dir / "bin"
    target = str(PurePosixPath("..", config["base_python"]))
    mtime = int((bin_dir / "python").lstat().st_mtime)
    python = PurePosixPath("bin/python")
    if not (bin_dir / "python_").is_symlink():
        return {python: ArchiveEntry(python, "symlink", mtime, target=target)}
    wrapper = render_python_wrapper(config["dynlib_dirs"]).encode()
    link = PurePosixPath("bin/python_")
    return {
        python: ArchiveEntry(python, "file", mtime, executable=True, data=wrapper),
        link: ArchiveEntry(link, "symlink", mtime, target=target),
    }


def compute_layer_entries(layer_dir: Path) -> list[ArchiveEntry]:
    """List what the built layer at *layer_dir* publishes."""
    config = load_layer_config(layer_dir)
    site_dir = PurePosixPath(Path(config["site_dir"]).as_posix())
    return collect_entries(
        layer_dir,
        exclude=lambda name: compute_excluded(name, site_dir),
        replace=compute_python_entries(layer_dir, config),
    )


def compute_unpacked_size(entries: Iterable[ArchiveEntry]) -> int:
    """Return the total size of the file entries: what the archive unpacks to, in bytes.

    Published as ``unpacked_size``; deploy refuses an archive whose files add up to more.
    """
    return sum(entry.size for entry in entries if entry.kind == "file")
