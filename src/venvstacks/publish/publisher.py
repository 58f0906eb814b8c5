"""Publishing built layers: one reproducible archive per layer, then the metadata.

Archives of independent layers are written in parallel (the compressors release
the GIL).  A layer whose archive inputs are unchanged since the last publication
to the same folder keeps its archive and metadata (reference §6.5).  Each
layer's metadata is written as soon as its archive is in place, and the stack
manifest once every layer is done, each file atomically, so after a failure no
metadata describes an archive that is missing or has other bytes.
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
from venvstacks.builder.stamp import compute_stamp_path, load_stamp
from venvstacks.errors import PublishError
from venvstacks.fs import render_json, write_json, write_text
from venvstacks.hashing import hash_strings
from venvstacks.lock.status import LayerLockStatus
from venvstacks.publish.content import (
    compute_content_fields,
    compute_layer_entries,
    load_layer_config,
)
from venvstacks.publish.manifest import add_metadata_hash, write_manifest
from venvstacks.publish.metadata import (
    ARCHIVE_INPUT_FIELDS,
    compute_archive_name,
    compute_layer_metadata,
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
    stamp = load_stamp(compute_stamp_path(build_dir, name))
    if stamp is None or not (build_dir / name).is_dir():
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
    windows = host.value.startswith("win")
    planned: list[tuple[LayerLockStatus, dict[str, Any], bool]] = []
    for layer in spec.graph:
        if layer.build_name not in selected or host not in layer.platforms:
            continue
        status = statuses[layer.build_name]
        inputs = check_built(status, build_dir)
        dependencies = [statuses[d.build_name] for d in spec.graph.dependencies(layer)]
        request = compute_layer_metadata(status, dependencies, windows=windows)
        request["target_platform"] = host.value
        request["archive_format"] = archive_format
        request["layer_inputs_hash"] = hash_strings([render_json(inputs)])
        previous = _load_previous(compute_layer_metadata_path(output_dir, layer.build_name, tag))
        same_version = (
            previous is not None and previous.get("lock_version") == request["lock_version"]
        )
        build_number = int(previous.get("archive_build", 0)) if previous and same_version else 0
        request["archive_build"] = max(build_number, 1)
        request["archive_name"] = compute_archive_name(
            request["install_target"], archive_format, platform=host.value,
            archive_build=request["archive_build"], tag_outputs=tag_outputs,
        )  # fmt: skip
        archive = output_dir / request["archive_name"]
        unchanged = (
            previous is not None
            and not force
            and all(previous.get(f) == request.get(f) for f in ARCHIVE_INPUT_FIELDS)
            and archive.is_file()
            and archive.stat().st_size == previous.get("archive_size")
        )
        if unchanged and previous is not None:
            planned.append((status, previous, False))
            continue
        if previous is not None and same_version:
            request["archive_build"] = build_number + 1
            request["archive_name"] = compute_archive_name(
                request["install_target"], archive_format, platform=host.value,
                archive_build=request["archive_build"], tag_outputs=tag_outputs,
            )  # fmt: skip
        planned.append((status, request, True))

    manifest_path = compute_manifest_path(output_dir, tag)
    if not dry_run:
        _write_archives(
            planned,
            build_dir,
            output_dir,
            manifest_path,
            _ArchiveSettings(host, archive_format, tag, dict(tools), environ, progress),
        )
    layers = [
        PublishedLayer(status.layer.build_name, status.layer.kind, metadata, rebuilt)
        for status, metadata, rebuilt in planned
    ]
    manifest = compute_manifest(
        [add_metadata_hash(p.metadata) for p in layers], [p.kind for p in layers]
    )
    if not dry_run:
        for published in layers:
            if not published.rebuilt:  # rebuilt layers' metadata was written with the archive
                path = compute_layer_metadata_path(output_dir, published.build_name, tag)
                write_json(path, published.metadata)
        write_manifest(manifest_path, manifest, sign_key)  # last: it lists only complete layers
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


def _write_archives(
    planned: list[tuple[LayerLockStatus, dict[str, Any], bool]],
    build_dir: Path,
    output_dir: Path,
    manifest_path: Path,
    settings: _ArchiveSettings,
) -> None:
    """Write the archives of rebuilt layers, each followed at once by its metadata.

    An archive is staged under a hidden name; the metadata describing the file
    it replaces is removed just before the rename and rewritten just after, so
    a failure in one layer never leaves another layer's metadata describing
    bytes that are no longer there.  The previous manifest is removed first for
    the same reason; the caller writes the new one once every layer is done.
    """

    def write(status: LayerLockStatus, metadata: dict[str, Any]) -> None:
        layer_dir = build_dir / status.layer.build_name
        archive = output_dir / metadata["archive_name"]
        staged = archive.with_name(f".{archive.name}.staged")
        if settings.progress is not None:
            settings.progress.archive_started(archive.name)
        sbom = compute_layer_sbom(
            status, settings.platform, load_layer_config(layer_dir)["py_version"]
        )
        entries = compute_layer_entries(layer_dir, sbom)
        try:
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
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        metadata["build_tools"] = dict(settings.tools)
        path = compute_layer_metadata_path(output_dir, status.layer.build_name, settings.tag)
        sbom_path = compute_sbom_path(output_dir, status.layer.build_name, settings.tag)
        metadata.update(compute_content_fields(entries, sbom, sbom_path.relative_to(output_dir)))
        path.unlink(missing_ok=True)
        staged.replace(archive)
        write_text(sbom_path, sbom)
        write_json(path, metadata)
        if settings.progress is not None:
            settings.progress.archive_finished(archive.name)

    jobs = [(status, metadata) for status, metadata, rebuilt in planned if rebuilt]
    if not jobs:
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for future in [pool.submit(write, status, metadata) for status, metadata in jobs]:
            future.result()
