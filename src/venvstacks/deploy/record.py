"""What is deployed in a target folder: ``TARGET/.venvstacks-deploy.json``.

The record maps each deployed folder name to the sha256 of the archive it was
unpacked from (``{"layers": {"app-chat@3": "sha256:<hex>"}}``).  It is written
last, atomically, after every layer of a deployment is in place, so it never
claims a layer that is not there.  A missing or unreadable record only means
that every layer is unpacked again.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.fs import write_json

RECORD_NAME = ".venvstacks-deploy.json"


def render_archive_hash(layer: ManifestLayer) -> str:
    """Return the hash recorded for a layer: ``sha256:<hex>`` of its archive."""
    return f"sha256:{layer.archive_sha256}"


def load_record(target: Path) -> dict[str, str]:
    """Read the record of *target* (empty when missing or unreadable)."""
    try:
        data = json.loads((target / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    layers = data.get("layers") if isinstance(data, dict) else None
    if not isinstance(layers, dict):
        return {}
    return {k: v for k, v in layers.items() if isinstance(k, str) and isinstance(v, str)}


def compute_changed(
    layers: Sequence[ManifestLayer], record: Mapping[str, str], present: Collection[str]
) -> frozenset[str]:
    """Return the deployed names of the *layers* that must be unpacked again.

    A layer is unchanged when its folder is *present* and the *record* holds its
    archive's hash.  A layer running on a changed layer counts as changed too:
    its post-install output depends on the layers below it.
    """
    changed = {
        layer.install_target
        for layer in layers
        if layer.install_target not in present
        or record.get(layer.install_target) != render_archive_hash(layer)
    }
    while True:
        more = {
            layer.install_target
            for layer in layers
            if layer.install_target not in changed and changed.intersection(layer.dependencies)
        }
        if not more:
            return frozenset(changed)
        changed |= more


def compute_record(record: Mapping[str, str], deployed: Sequence[ManifestLayer]) -> dict[str, str]:
    """Return the record after deploying *deployed*: earlier entries kept, these updated."""
    return {**record, **{layer.install_target: render_archive_hash(layer) for layer in deployed}}


def write_record(target: Path, record: Mapping[str, str]) -> None:
    """Write the record of *target* atomically."""
    write_json(target / RECORD_NAME, {"layers": dict(record)})
