"""Layer keys (pure): which store folder a layer of a release lives in.

A layer folder is shared between releases only when it would be identical, so
its key covers everything its post-installed content depends on: its own
archive (sha256), the name it is deployed under, and the keys of the layers it
runs on, in order (``postinstall.py`` writes paths to them).  An updated
runtime therefore gives new keys to every layer above it, while an unchanged
runtime or framework keeps its key, and its folder, across releases.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.hashing import hash_strings
from venvstacks.spec.naming import DeployedName

KEY_CHARS = 16  # hex digits of the key in a folder name: 64 bits, no collision in one store


@dataclass(frozen=True)
class KeyedLayer:
    """A layer of a release with its key and the store folder that holds it.

    ``lower`` holds the deployed name and folder of every layer below it (its
    runtime and frameworks, and theirs), each linked into its folder under that
    name.
    """

    layer: ManifestLayer
    key: str
    folder: str
    lower: tuple[tuple[DeployedName, str], ...]


def compute_key(layer: ManifestLayer, lower_keys: Sequence[tuple[str, str]]) -> str:
    """Return ``sha256:<hex>`` over the layer's archive, its name and its lower layers' keys."""
    data = {
        "archive_sha256": layer.archive_sha256,
        "install_target": layer.install_target,
        "lower": [list(pair) for pair in lower_keys],
    }
    return hash_strings([json.dumps(data, sort_keys=True)])


def compute_folder_name(install_target: str, key: str) -> str:
    """Return the store folder name of a layer: ``<first 16 hex digits of the key>-<deployed name>``."""
    return f"{key.removeprefix('sha256:')[:KEY_CHARS]}-{install_target}"


def _closure(
    layer: ManifestLayer, by_name: Mapping[str, ManifestLayer]
) -> tuple[DeployedName, ...]:
    found: list[DeployedName] = []
    pending = list(layer.dependencies)
    while pending:
        name = pending.pop(0)
        if name not in found:
            found.append(name)
            pending.extend(by_name[name].dependencies)
    return tuple(found)


def compute_keyed_layers(layers: Sequence[ManifestLayer]) -> tuple[KeyedLayer, ...]:
    """Key the *layers* of a release, in the order given.

    Every layer a layer runs on must be among *layers* (`select_layers` ensures it).
    """
    by_name: dict[str, ManifestLayer] = {layer.install_target: layer for layer in layers}
    keys: dict[str, str] = {}

    def key_of(layer: ManifestLayer) -> str:
        if layer.install_target not in keys:
            lower = [(name, key_of(by_name[name])) for name in layer.dependencies]
            keys[layer.install_target] = compute_key(layer, lower)
        return keys[layer.install_target]

    def folder_of(name: str) -> str:
        return compute_folder_name(name, key_of(by_name[name]))

    return tuple(
        KeyedLayer(
            layer,
            key_of(layer),
            folder_of(layer.install_target),
            tuple((name, folder_of(name)) for name in _closure(layer, by_name)),
        )
        for layer in layers
    )
