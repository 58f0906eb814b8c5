"""Publishing built layers: one reproducible archive per layer, then the metadata.

Archives of independent layers are written in parallel (the compressors release
the GIL), each under a hidden staged name.  A layer whose archive inputs are
unchanged since the last publication to the same folder keeps its archive and
metadata (reference §6.5).  Once every archive is staged, `commit` swaps them
in and writes the per-layer metadata and, last, the manifest, so the folder
always holds a complete publication: a failed or killed run leaves the
previous one, and the next run finishes or cleans up what it left.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from venvstacks.archives import ArchiveFormat, write_archive
from venvstacks.builder.stack import compute_host_platform
from venvstacks.builder.stamp import load_layer_stamp
from venvstacks.errors import PublishError
from venvstacks.fs import render_json
from venvstacks.hashing import hash_strings
from venvstacks.lock.status import LayerLockStatus
from venvstacks.publish.commit import PublicationChange, commit_publication, compute_staged_name
from venvstacks.publish.content import (
    compute_content_fields,
    compute_layer_entries,
    compute_unpacked_size,
    load_layer_config,
)
from venvstacks.publish.manifest import add_metadata_hash, render_manifest_files
from venvstacks.publish.metadata import (
    compute_archive_request,
    compute_dry_run_request,
    compute_layer_metadata_path,
    compute_manifest,
    compute_manifest_path,
    compute_tag,
)
from venvstacks.publish.sbom import compute_layer_sbom, compute_sbom_path
from venvstacks.signing import SecretKey
from venvstacks.spec.load import StackSpec
from venvstacks.spec.naming import BuildName, LayerKind
from venvstacks.spec.platforms import TargetPlatform


@dataclass(frozen=True)
class PublishedLayer:
    """One layer's publication: its metadata, and whether its archive was (re)written."""

    build_name: BuildName
    kind: LayerKind
    metadata: Mapping[str, Any]
    rebuilt: bool


@dataclass(frozen=True)
class PublishedStack:
    """The outcome of a publication (or of a dry run, when nothing was written)."""

    output_dir: Path
    manifest_path: Path
    manifest: Mapping[str, Any]
    layers: tuple[PublishedLayer, ...]
    dry_run: bool


def _load_previous(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def compute_mtime_clamp(locked_at: str, environ: Mapping[str, str]) -> int:
    """Archive mtimes are clamped to ``SOURCE_DATE_EPOCH`` if set, else to the lock time."""
    from datetime import datetime  # noqa: PLC0415

    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return int(epoch)
    return int(datetime.fromisoformat(locked_at).timestamp())


def check_built(status: LayerLockStatus, build_dir: Path) -> dict[str, Any]:
    """Return a layer's build inputs; fail if it is not built, or built from an older lock."""
    name = status.layer.build_name
    stamp = load_layer_stamp(build_dir, name)
    if stamp is None:
        raise PublishError(f"{name}: not built yet; run 'venvstacks build --include {name}' first")
    inputs = stamp.get("inputs")
    if (
        not isinstance(inputs, dict)
        or inputs.get("requirements_hash") != status.inputs.requirements_hash
    ):
        raise PublishError(
            f"{name}: built from an older lock; run 'venvstacks build --include {name}' first"
        )
    # The metadata describes the current launch modules and lower layers: the archive must too.
    if (
        inputs.get("version_inputs_hash") != status.inputs.version_inputs_hash
        or inputs.get("deployment_inputs_hash") != status.inputs.deployment_inputs_hash
    ):
        raise PublishError(
            f"{name}: built from older inputs (launch or support modules, post-install script "
            f"or lower layers); run 'venvstacks build --include {name}' first"
        )
    return inputs


def _find_built_inputs(status: LayerLockStatus, build_dir: Path) -> dict[str, Any] | None:
    """Return a layer's build inputs if it is built from its current lock and inputs, else None."""
    try:
        return check_built(status, build_dir)
    except PublishError:
        return None


def _file_size(output_dir: Path, previous: Mapping[str, Any] | None) -> int | None:
    """Return the size of the archive the previous metadata names (None if it is not there)."""
    name = previous.get("archive_name") if previous is not None else None
    if not isinstance(name, str):
        return None
    try:
        archive = output_dir / name
        return archive.stat().st_size if archive.is_file() else None
    except OSError:
        return None


def publish_layers(
    spec: StackSpec,
    statuses: Mapping[BuildName, LayerLockStatus],
    selected: Collection[BuildName],
    *,
    build_dir: Path,
    output_dir: Path,
    archive_format: ArchiveFormat,
    tag_outputs: bool = False,
    force: bool = False,
    dry_run: bool = False,
    tools: Mapping[str, str],
    environ: Mapping[str, str] = os.environ,
    progress: ArchiveProgress | None = None,
    sign_key: SecretKey | None = None,
) -> PublishedStack:
    """Archive the *selected* built layers into *output_dir* (see the module docstring).

    With *sign_key*, the manifest gets a detached minisign signature beside it.
    """
    host = compute_host_platform()
    tag = compute_tag(host.value, tag_outputs)
    planned: list[tuple[LayerLockStatus, dict[str, Any], bool]] = []
    for layer in spec.graph:
        if layer.build_name not in selected or host not in layer.platforms:
            continue
        status = statuses[layer.build_name]
        # A dry run needs no build: what only a build can tell is left out of it.
        inputs = (
            _find_built_inputs(status, build_dir) if dry_run else check_built(status, build_dir)
        )
        previous = _load_previous(compute_layer_metadata_path(output_dir, layer.build_name, tag))
        metadata, rebuild = compute_archive_request(
            status,
            [statuses[d.build_name] for d in spec.graph.dependencies(layer)],
            platform=host.value,
            archive_format=archive_format,
            tag_outputs=tag_outputs,
            layer_inputs_hash=None if inputs is None else hash_strings([render_json(inputs)]),
            previous=previous,
            previous_archive_size=_file_size(output_dir, previous),
            force=force,
        )
        if rebuild:  # named before the archive is written, so a dry run shows it too
            sbom_path = compute_sbom_path(output_dir, layer.build_name, tag)
            metadata["sbom_name"] = sbom_path.relative_to(output_dir).as_posix()
        planned.append(
            (status, compute_dry_run_request(metadata) if dry_run else metadata, rebuild)
        )

    manifest_path = compute_manifest_path(output_dir, tag)
    moves: list[tuple[str, str]] = []
    sboms: dict[str, tuple[str, str]] = {}
    if not dry_run:
        moves, sboms = _stage_archives(
            planned,
            build_dir,
            output_dir,
            _ArchiveSettings(host, archive_format, tag, dict(tools), environ, progress),
        )
    layers = [
        PublishedLayer(status.layer.build_name, status.layer.kind, metadata, rebuilt)
        for status, metadata, rebuilt in planned
    ]
    # A dry run's metadata is not the file a real run writes: no hash of it.
    manifest = compute_manifest(
        [p.metadata if dry_run else add_metadata_hash(p.metadata) for p in layers],
        [p.kind for p in layers],
    )
    if not dry_run:
        writes: list[tuple[str, str | None]] = []
        for p in layers:
            if p.build_name in sboms:
                writes.append(sboms[p.build_name])
            path = compute_layer_metadata_path(output_dir, p.build_name, tag)
            writes.append((path.relative_to(output_dir).as_posix(), render_json(p.metadata)))
        writes += [
            (path.relative_to(output_dir).as_posix(), text)
            for path, text in render_manifest_files(manifest_path, manifest, sign_key)
        ]  # the signature, then the manifest: last
        commit_publication(
            output_dir, PublicationChange(tuple(moves), tuple(writes)), sign_key=sign_key
        )
    return PublishedStack(output_dir, manifest_path, manifest, tuple(layers), dry_run)


class ArchiveProgress(Protocol):
    """Receives events as archives are written (from worker threads); the CLI draws them."""

    def archive_started(self, name: str) -> None:
        """Report that writing the archive *name* begins."""

    def archive_finished(self, name: str) -> None:
        """Report that the archive *name* is complete."""


@dataclass(frozen=True)
class _ArchiveSettings:
    platform: TargetPlatform
    archive_format: ArchiveFormat
    tag: str
    tools: Mapping[str, str]
    environ: Mapping[str, str]
    progress: ArchiveProgress | None = None


def _stage_archives(
    planned: list[tuple[LayerLockStatus, dict[str, Any], bool]],
    build_dir: Path,
    output_dir: Path,
    settings: _ArchiveSettings,
) -> tuple[list[tuple[str, str]], dict[str, tuple[str, str]]]:
    """Write the archives of rebuilt layers under their staged names.

    Returns the renames to do and, per rebuilt layer, its SBOM (path, text).
    Each rebuilt layer's metadata gets the staged archive's size and hash and
    its content fields.  If any archive fails, every staged archive is removed
    and nothing else changed.
    """
    sboms: dict[str, tuple[str, str]] = {}

    def write(status: LayerLockStatus, metadata: dict[str, Any]) -> None:
        layer_dir = build_dir / status.layer.build_name
        staged = output_dir / compute_staged_name(metadata["archive_name"])
        if settings.progress is not None:
            settings.progress.archive_started(metadata["archive_name"])
        sbom = compute_layer_sbom(
            status, settings.platform, load_layer_config(layer_dir)["py_version"]
        )
        entries = compute_layer_entries(layer_dir, sbom)
        write_archive(
            entries,
            staged,
            root_name=metadata["install_target"],
            archive_format=settings.archive_format,
            mtime_clamp=compute_mtime_clamp(metadata["locked_at"], settings.environ),
            root_mtime=int(layer_dir.stat().st_mtime),
        )
        metadata["archive_size"] = staged.stat().st_size
        metadata["archive_hashes"] = {"sha256": _sha256(staged)}
        metadata["unpacked_size"] = compute_unpacked_size(entries)
        metadata["build_tools"] = dict(settings.tools)
        sbom_path = compute_sbom_path(output_dir, status.layer.build_name, settings.tag)
        metadata.update(compute_content_fields(entries, sbom, sbom_path.relative_to(output_dir)))
        sboms[status.layer.build_name] = (sbom_path.relative_to(output_dir).as_posix(), sbom)
        if settings.progress is not None:
            settings.progress.archive_finished(metadata["archive_name"])

    jobs = [metadata for _, metadata, rebuilt in planned if rebuilt]
    moves = [(compute_staged_name(m["archive_name"]), m["archive_name"]) for m in jobs]
    if not jobs:
        return moves, sboms
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            futures = [
                pool.submit(write, status, metadata)
                for status, metadata, rebuilt in planned
                if rebuilt
            ]
        for future in futures:
            future.result()
    except BaseException:
        for staged, _ in moves:
            (output_dir / staged).unlink(missing_ok=True)
        raise
    return moves, sboms
