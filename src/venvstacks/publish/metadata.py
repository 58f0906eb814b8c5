"""Published layer metadata (venvstacks 0.8 field names, reference §6.4) and file names (§6.3).

Per layer: ``__venvstacks__/env_metadata/<layer name>[-<platform>].json``; for the
whole run: ``__venvstacks__/venvstacks[-<platform>].json`` listing the layers
published in that run.  We add ``archive_format``, ``build_tools`` (venvstacks,
uv and Python versions that made the archive), ``layer_inputs_hash`` (what
the layer was built from, so an edited launch module is re-archived even in an
unversioned layer) and ``unpacked_size`` (the total size of the archive's
files, which bounds what deploy unpacks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from venvstacks.lock.metadata import render_locked_at
from venvstacks.lock.status import LayerLockStatus
from venvstacks.spec.naming import LayerKind

METADATA_DIR = "__venvstacks__"
# Fields whose change means the archive must be built again (reference §6.5, plus ours).
ARCHIVE_INPUT_FIELDS = (
    "archive_build",
    "archive_name",
    "install_target",
    "layer_name",
    "lock_version",
    "locked_at",
    "requirements_hash",
    "target_platform",
    "archive_format",
    "layer_inputs_hash",
)


def compute_tag(platform: str, tag_outputs: bool) -> str:
    """Return the ``-<platform>`` suffix of tagged metadata names (empty when untagged)."""
    return f"-{platform}" if tag_outputs else ""


def compute_archive_name(
    install_target: str,
    archive_format: str,
    *,
    platform: str,
    archive_build: int,
    tag_outputs: bool,
) -> str:
    """``<install target>.<ext>``, or ``<install target>-<platform>-<build>.<ext>`` when tagged."""
    if tag_outputs:
        return f"{install_target}-{platform}-{archive_build}.{archive_format}"
    return f"{install_target}.{archive_format}"


def compute_layer_metadata_path(output_dir: Path, layer_name: str, tag: str) -> Path:
    """Where a layer's published metadata lives."""
    return output_dir / METADATA_DIR / "env_metadata" / f"{layer_name}{tag}.json"


def compute_manifest_path(output_dir: Path, tag: str) -> Path:
    """Where the combined manifest of a run lives."""
    return output_dir / METADATA_DIR / f"venvstacks{tag}.json"


def compute_layer_metadata(
    status: LayerLockStatus,
    dependencies: Sequence[LayerLockStatus],
    *,
    windows: bool,
) -> dict[str, Any]:
    """Return the fields every published layer has (archive and export alike).

    *dependencies* are the layers it runs on in ``sys.path`` order (runtime last).
    """
    layer, stored = status.layer, status.stored
    if stored is None:
        raise ValueError(f"{layer.build_name} has no lock metadata")
    data: dict[str, Any] = {
        "layer_name": layer.build_name,
        "install_target": status.deployed_name,
        "requirements_hash": stored.requirements_hash,
        "lock_version": status.lock_version,
        "locked_at": render_locked_at(stored.locked_at),
        "python_implementation": layer.python_implementation,
    }
    if layer.kind is LayerKind.RUNTIME:
        data["runtime_layer"] = status.deployed_name
        data["bound_to_implementation"] = True
        return data
    data["runtime_layer"] = dependencies[-1].deployed_name
    data["bound_to_implementation"] = windows
    data["required_layers"] = [d.deployed_name for d in dependencies[:-1]]
    if layer.launch_module is not None:
        data["app_launch_module"] = layer.launch_module.stem
        data["app_launch_module_hash"] = status.module_hashes[str(layer.launch_module)]
        if layer.support_modules:
            data["app_support_modules"] = [
                {"name": path.stem, "hash": status.module_hashes[str(path)]}
                for path in sorted(layer.support_modules, key=str)
            ]
    return data


def compute_manifest(
    layers: Sequence[Mapping[str, Any]], kinds: Sequence[LayerKind]
) -> dict[str, Any]:
    """Return the combined manifest: every kind present, layers in definition order."""
    manifest: dict[str, list[Mapping[str, Any]]] = {kind.value: [] for kind in LayerKind}
    for kind, data in zip(kinds, layers, strict=True):
        manifest[kind.value].append(data)
    return {"layers": manifest}
