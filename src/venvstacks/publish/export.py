"""``local-export``: built layers copied into a folder, ready to run, with export metadata.

The exported content is exactly what an archive would hold (see `content`);
files are hard-linked from the build folder when possible and copied otherwise.
Each layer is assembled in ``.<folder>.staging`` beside its final folder and
post-installed there (what post-install writes depends only on the folder the
layer sits in, which is the same), then swapped into place, and its metadata
written; the manifest comes last.  So every layer folder in the export is
complete and post-installed at every instant, and a killed export leaves only
names `recover_export` repairs.  A layer whose export metadata is unchanged
and whose folder exists is left alone.  Post-install runs runtime first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from venvstacks.archives import ArchiveEntry
from venvstacks.errors import PublishError
from venvstacks.fs import (
    Recovery,
    compute_staging_path,
    recover_swaps,
    remove_tree,
    replace_tree,
    write_json,
)
from venvstacks.lock.status import LayerLockStatus
from venvstacks.publish.content import compute_layer_entries
from venvstacks.publish.metadata import (
    METADATA_DIR,
    compute_layer_metadata,
    compute_layer_metadata_path,
    compute_manifest,
    compute_manifest_path,
)
from venvstacks.publish.publisher import check_built
from venvstacks.spec.load import StackSpec
from venvstacks.spec.naming import BuildName, LayerKind


@dataclass(frozen=True)
class ExportedLayer:
    """One layer's export: its metadata and whether its folder was (re)written."""

    build_name: BuildName
    kind: LayerKind
    metadata: Mapping[str, Any]
    path: Path
    rebuilt: bool


@dataclass(frozen=True)
class ExportedStack:
    """The outcome of a local export (or of a dry run)."""

    output_dir: Path
    manifest_path: Path
    manifest: Mapping[str, Any]
    layers: tuple[ExportedLayer, ...]
    dry_run: bool


def _materialise(entry: ArchiveEntry, target: Path) -> None:
    path = target / entry.name
    if entry.kind == "dir":
        path.mkdir(exist_ok=True)
    elif entry.kind == "symlink":
        path.symlink_to(entry.target)
    elif entry.data is not None:
        path.write_bytes(entry.data)
        path.chmod(0o755 if entry.executable else 0o644)
    else:
        assert entry.source is not None  # noqa: S101 - file entries have one or the other
        try:
            os.link(entry.source, path)
        except OSError:  # another file system: copy instead
            shutil.copy2(entry.source, path)


def recover_export(output_dir: Path) -> Recovery:
    """Repair an export folder after a killed ``local-export`` (see `recover_swaps`)."""
    recovery = recover_swaps(output_dir)
    return recovery.merge(recover_swaps(output_dir / METADATA_DIR, subfolders=("env_metadata",)))


def _postinstall(layer_dir: Path, label: str) -> None:
    # postinstall.py needs only the standard library: the Python running venvstacks
    # can run it even when the export does not include the layer's runtime.
    proc = subprocess.run(
        [sys.executable, "-X", "utf8", "-I", layer_dir / "postinstall.py"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PublishError(
            f"{label}: post-install failed in the export", output=proc.stdout + proc.stderr
        )


def export_layers(
    spec: StackSpec,
    statuses: Mapping[BuildName, LayerLockStatus],
    selected: Collection[BuildName],
    *,
    build_dir: Path,
    output_dir: Path,
    force: bool = False,
    dry_run: bool = False,
) -> ExportedStack:
    """Export the *selected* built layers into *output_dir* (see the module docstring)."""
    exported: list[ExportedLayer] = []
    for layer in spec.graph:
        if layer.build_name not in selected:
            continue
        status = statuses[layer.build_name]
        if not dry_run:  # a dry run reports from the locks alone, built or not
            check_built(status, build_dir)
        dependencies = [statuses[d.build_name] for d in spec.graph.dependencies(layer)]
        metadata = compute_layer_metadata(status, dependencies, windows=os.name == "nt")
        metadata_path = compute_layer_metadata_path(output_dir, layer.build_name, "")
        folder = output_dir / metadata["install_target"]
        try:
            previous = json.loads(metadata_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        rebuilt = force or previous != metadata or not folder.is_dir()
        if rebuilt and not dry_run:
            staging = compute_staging_path(folder)
            remove_tree(staging)
            staging.mkdir(parents=True)
            try:
                for entry in compute_layer_entries(build_dir / layer.build_name):
                    _materialise(entry, staging)
                _postinstall(staging, folder.name)
                replace_tree(staging, folder)
            finally:
                remove_tree(staging)
        if not dry_run and previous != metadata:
            write_json(metadata_path, metadata)
        exported.append(ExportedLayer(layer.build_name, layer.kind, metadata, folder, rebuilt))
    manifest = compute_manifest([e.metadata for e in exported], [e.kind for e in exported])
    manifest_path = compute_manifest_path(output_dir, "")
    if not dry_run:
        write_json(manifest_path, manifest)
    return ExportedStack(output_dir, manifest_path, manifest, tuple(exported), dry_run)
