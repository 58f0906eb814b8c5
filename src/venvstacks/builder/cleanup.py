"""Portability clean-up after packages are installed (reference §5.8).

* Entry-point and activation scripts in ``bin``/``Scripts`` (anything whose name
  does not start with ``python``) are removed, and their rows are dropped from
  the owning distributions' ``RECORD`` files, read and written with ``installer``.
* uv's ``uv_cache.json`` files in ``*.dist-info`` (they record install times, so
  two builds would differ) are removed the same way.
* Absolute symlinks inside the layer become relative; symlinks leading out of
  the build folder are replaced by copies of what they point to.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

from installer.records import RecordEntry, parse_record_file

from venvstacks.archives import iter_tree


def _script_dir(layer_dir: Path) -> Path:
    return layer_dir / "Scripts" if (layer_dir / "Scripts").is_dir() else layer_dir / "bin"


def remove_scripts(layer_dir: Path, site_dir: Path) -> list[str]:
    """Remove non-``python*`` entries of the layer's script folder; fix RECORD files.

    Returns the removed paths, relative to the layer folder.
    """
    scripts = _script_dir(layer_dir)
    removed = []
    for entry in sorted(scripts.iterdir()) if scripts.is_dir() else []:
        if entry.name.startswith("python"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(entry.relative_to(layer_dir).as_posix())
    if removed:
        _drop_record_rows(layer_dir, site_dir, {(layer_dir / r).resolve() for r in removed})
    return removed


def remove_installer_caches(layer_dir: Path, site_dir: Path) -> None:
    """Remove uv's per-distribution ``uv_cache.json`` files and their RECORD rows."""
    caches = list((layer_dir / site_dir).glob("*.dist-info/uv_cache.json"))
    for cache in caches:
        cache.unlink()
    if caches:
        _drop_record_rows(layer_dir, site_dir, {c.resolve() for c in caches})


def _drop_record_rows(layer_dir: Path, site_dir: Path, removed: set[Path]) -> None:
    site = layer_dir / site_dir
    for record in site.glob("*.dist-info/RECORD"):
        text = record.read_text(encoding="utf-8")
        entries = list(parse_record_file(text.splitlines()))
        kept = [
            RecordEntry.from_elements(path, hash_, size)
            for path, hash_, size in entries
            if not _is_removed((site / path).resolve(), removed)
        ]
        if len(kept) == len(entries):
            continue
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for entry in kept:
            writer.writerow(entry.to_row())
        record.write_text(buffer.getvalue(), encoding="utf-8")


def _is_removed(path: Path, removed: set[Path]) -> bool:
    # A removed folder takes the files listed inside it along.
    return path in removed or not removed.isdisjoint(path.parents)


def relativise_symlinks(layer_dir: Path, build_dir: Path) -> None:
    """Make absolute symlinks relative; copy in targets that lie outside *build_dir*."""
    for path in list(iter_tree(layer_dir)):
        if not path.is_symlink():
            continue
        target = path.readlink()
        if not target.is_absolute():
            continue
        if target.is_relative_to(build_dir):
            path.unlink()
            path.symlink_to(os.path.relpath(target, path.parent))
        else:
            path.unlink()
            if target.is_dir():
                shutil.copytree(target, path, symlinks=True)
            else:
                shutil.copy2(target, path)
