"""What goes into a layer's archive (or local export), taken from its build folder.

Added: the layer's file manifest (`venvstacks.file_manifest`) and, when given,
its SBOM, both under ``share/venv/metadata/``.  Left out: hidden top-level entries (``.lock`` and the like), ``pyvenv.cfg`` and
``sitecustomize.py`` (``postinstall.py`` writes both on the machine the layer is
deployed to).  Kept, unlike venvstacks 0.8: ``__pycache__`` folders, since their
bytecode was compiled reproducibly at build time so deployed layers need no
compilation.  A layered environment's ``bin/python`` (and ``bin/python_``)
is re-pointed from the build folder's sibling names to the deployed ones.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from venvstacks._injected.postinstall import LAYER_CONFIG_PATH, render_python_wrapper
from venvstacks.archives import ArchiveEntry, collect_entries
from venvstacks.file_manifest import (
    ENTRY_KINDS,
    FILE_MANIFEST_PATH,
    FileKind,
    compute_file_records,
    render_file_manifest,
)
from venvstacks.publish.sbom import SBOM_FILE_NAME

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


def compute_rendered(
    config: dict[str, Any], entries: list[ArchiveEntry]
) -> list[tuple[str, FileKind]]:
    """Return the paths postinstall.py writes on the target, with their kinds."""
    if config["python"] == config["base_python"]:  # a runtime: post-install writes nothing
        return []
    site_dir = PurePosixPath(Path(config["site_dir"]).as_posix())
    rendered: list[tuple[str, FileKind]] = [
        (name, "file") for name in ("pyvenv.cfg", f"{site_dir}/sitecustomize.py")
    ]
    rendered += [
        (entry.name.as_posix(), ENTRY_KINDS[entry.kind])
        for entry in entries
        if entry.name.as_posix() in ("bin/python", "bin/python_")
    ]
    return rendered


def compute_layer_entries(layer_dir: Path, sbom: str | None = None) -> list[ArchiveEntry]:
    """List what the built layer at *layer_dir* publishes (with its *sbom*, when given)."""
    config = load_layer_config(layer_dir)
    site_dir = PurePosixPath(Path(config["site_dir"]).as_posix())
    replace = compute_python_entries(layer_dir, config)
    # Added files take the layer config's mtime: a build-time stamp, so rebuilds stay identical.
    mtime = int((layer_dir / LAYER_CONFIG_PATH).stat().st_mtime)
    metadata_dir = PurePosixPath(LAYER_CONFIG_PATH.parent.as_posix())
    if sbom is not None:
        name = metadata_dir / SBOM_FILE_NAME
        replace[name] = ArchiveEntry(name, "file", mtime, data=sbom.encode())
    entries = collect_entries(
        layer_dir,
        exclude=lambda name: compute_excluded(name, site_dir) or name == FILE_MANIFEST_PATH,
        replace=replace,
    )
    records = compute_file_records(entries, compute_rendered(config, entries))
    manifest = ArchiveEntry(
        FILE_MANIFEST_PATH, "file", mtime, data=render_file_manifest(records).encode()
    )
    return sorted([*entries, manifest], key=lambda e: e.name.parts)


def compute_content_fields(
    entries: list[ArchiveEntry], sbom: str, sbom_name: Path
) -> dict[str, Any]:
    """Return the metadata fields that describe a layer's file manifest and SBOM.

    *sbom_name* is where the SBOM is published, relative to the output folder.
    """
    manifest = next(e for e in entries if e.name == FILE_MANIFEST_PATH)
    return {
        "file_manifest_hashes": {"sha256": hashlib.sha256(manifest.read()).hexdigest()},
        "sbom_name": sbom_name.as_posix(),
        "sbom_hashes": {"sha256": hashlib.sha256(sbom.encode()).hexdigest()},
    }
