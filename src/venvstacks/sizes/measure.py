"""Measuring one built layer: every published path, its bytes, and who it belongs to.

The paths are exactly what ``venvstacks publish`` would put into the layer's
archive (`venvstacks.publish.content.compute_layer_entries`), so a layer's
``unpacked_bytes`` is what a deployed copy of it occupies.  Each file belongs to
one *owner*: the installed distribution whose ``RECORD`` lists it (bytecode in
``__pycache__`` belongs to the owner of its source file), or one of the rows in
`SPECIAL_OWNERS` for files no ``RECORD`` lists.  A file hard-linked under
several names counts once; a symlink counts as the length of its target.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

from venvstacks.archives import ArchiveEntry
from venvstacks.file_manifest import FILE_MANIFEST_PATH, parse_file_manifest
from venvstacks.publish.content import compute_layer_entries, load_layer_config

RUNTIME = "(python runtime)"
LAYER_FILES = "(venvstacks layer files)"
LAUNCH_MODULES = "(launch modules)"
UNATTRIBUTED = "(unattributed)"
SPECIAL_OWNERS = (RUNTIME, LAYER_FILES, LAUNCH_MODULES, UNATTRIBUTED)
_PYC = re.compile(r"^(?P<dir>(?:.*/)?)__pycache__/(?P<stem>[^/.]+)\.[^/]*pyc$")


@dataclass(frozen=True)
class LayerFile:
    """One published path of a layer: its bytes (0 for a repeated hard link) and owner."""

    path: str
    size: int
    sha256: str
    owner: str


@dataclass(frozen=True)
class Distribution:
    """An installed distribution: its name, version and ``Requires-Dist`` lines."""

    name: str
    version: str
    requires: tuple[str, ...]
    paths: frozenset[str]  # layer-relative POSIX paths its RECORD lists


@dataclass(frozen=True)
class MeasuredLayer:
    """Every published path of one built layer, with the distributions installed in it."""

    layer_dir: Path
    is_runtime: bool
    site_dir: str
    files: tuple[LayerFile, ...]
    distributions: Mapping[str, Distribution]  # by canonical name


def load_distributions(layer_dir: Path, site_dir: str) -> dict[str, Distribution]:
    """Read every ``*.dist-info`` in the layer's site-packages (name, version, RECORD)."""
    found: dict[str, Distribution] = {}
    for info in sorted((layer_dir / site_dir).glob("*.dist-info")):
        metadata = info / "METADATA"
        record = info / "RECORD"
        if not metadata.is_file() or not record.is_file():
            continue
        headers = HeaderParser().parsestr(metadata.read_text(encoding="utf-8", errors="replace"))
        name = canonicalize_name(headers.get("Name", info.name.split("-")[0]))
        dist_info = f"{site_dir}/{info.name}"
        paths = {
            posixpath.normpath(posixpath.join(site_dir, row.split(",", 1)[0]))
            for row in record.read_text(encoding="utf-8").splitlines()
            if row.strip()
        }
        paths.update(p.relative_to(layer_dir).as_posix() for p in info.rglob("*") if not p.is_dir())
        paths.add(f"{dist_info}/RECORD")
        found[name] = Distribution(
            name=name,
            version=headers.get("Version", ""),
            requires=tuple(headers.get_all("Requires-Dist") or ()),
            paths=frozenset(paths),
        )
    return found


def compute_owner(
    path: str,
    owners: Mapping[str, str],
    *,
    site_dir: str,
    is_runtime: bool,
    app_modules: Iterable[str],
) -> str:
    """Return who *path* belongs to: a distribution's name or one of `SPECIAL_OWNERS`."""
    match = _PYC.match(path)
    source = f"{match['dir']}{match['stem']}.py" if match else path
    for candidate in (path, source):
        if candidate in owners:
            return owners[candidate]
    if path.startswith(f"{site_dir}/"):
        inside = source.removeprefix(f"{site_dir}/")
        top = inside.split("/", 1)[0].removesuffix(".py")
        if top in app_modules:
            return LAUNCH_MODULES
        return UNATTRIBUTED
    if path.startswith("share/venv/") or path == "postinstall.py" or not is_runtime:
        return LAYER_FILES
    return RUNTIME


def _entry_size_and_hash(
    entry: ArchiveEntry, recorded: Mapping[str, tuple[int, str]]
) -> tuple[int, str]:
    if entry.kind == "symlink":
        return len(entry.target.encode()), ""
    known = recorded.get(entry.name.as_posix())
    if known is not None:
        return known
    data = entry.read()
    return len(data), hashlib.sha256(data).hexdigest()


def measure_layer(
    layer_dir: Path, *, app_modules: Iterable[str] = (), sbom: str | None = None
) -> MeasuredLayer:
    """Measure the built layer at *layer_dir* as it would be published (with its *sbom*)."""
    config = load_layer_config(layer_dir)
    site_dir = PurePosixPath(Path(config["site_dir"]).as_posix()).as_posix()
    is_runtime = config["python"] == config["base_python"]
    entries = compute_layer_entries(layer_dir, sbom)
    manifest = next(e for e in entries if e.name == FILE_MANIFEST_PATH)
    recorded = {
        r.path: (r.size, r.sha256)
        for r in parse_file_manifest(manifest.read().decode())
        if r.kind == "file" and not r.rendered
    }
    distributions = load_distributions(layer_dir, site_dir)
    owners = {path: dist.name for dist in distributions.values() for path in dist.paths}
    modules = frozenset(app_modules)
    seen_inodes: set[tuple[int, int]] = set()
    files: list[LayerFile] = []
    for entry in entries:
        if entry.kind == "dir":
            continue
        size, sha256 = _entry_size_and_hash(entry, recorded)
        if entry.kind == "file" and entry.source is not None and entry.data is None:
            stat = os.lstat(entry.source)
            inode = (stat.st_dev, stat.st_ino)
            if stat.st_nlink > 1 and inode in seen_inodes:
                size = 0  # another name of a file already counted
            seen_inodes.add(inode)
        path = entry.name.as_posix()
        owner = compute_owner(
            path, owners, site_dir=site_dir, is_runtime=is_runtime, app_modules=modules
        )
        files.append(LayerFile(path, size, sha256, owner))
    return MeasuredLayer(layer_dir, is_runtime, site_dir, tuple(files), distributions)
