"""Render pipeline results for the terminal (tree) and for programs (JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.tree import Tree

from venvstacks.pipeline import LayerStatus, StackStatus
from venvstacks.spec.naming import LayerKind

_HEADINGS = {
    LayerKind.RUNTIME: "Runtimes",
    LayerKind.FRAMEWORK: "Frameworks",
    LayerKind.APPLICATION: "Applications",
}


def render_layer_label(status: LayerStatus) -> str:
    """Render one layer line: ``[*]<build name>[ -> <deployed name>]``.

    ``*`` marks a layer without a valid lock; the arrow appears only when the
    deployed name differs from the build name (versioned layers).
    """
    marker = "" if status.has_valid_lock else "*"
    label = f"{marker}{status.build_name}"
    if str(status.deployed_name) != str(status.build_name):
        label += f" -> {status.deployed_name}"
    return label


def render_status_tree(status: StackStatus) -> Tree:
    """Return the stack status as a rich tree (kinds, layers, dependencies)."""
    tree = Tree(str(status.spec.path.absolute()), highlight=False)
    for kind, heading in _HEADINGS.items():
        layers = [layer for layer in status.layers if layer.kind is kind]
        if not layers:
            continue
        branch = tree.add(heading)
        for layer in layers:
            node = branch.add(render_layer_label(layer))
            for dependency in layer.dependencies:
                node.add(render_layer_label(dependency))
    return tree


def _layer_json(status: LayerStatus, *, with_dependencies: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": status.build_name,
        "install_target": status.deployed_name,
        "has_valid_lock": status.has_valid_lock,
        "selected_operations": None,
    }
    if with_dependencies:
        data["dependencies"] = [
            _layer_json(dep, with_dependencies=False) for dep in status.dependencies
        ]
    return data


def render_status_json(status: StackStatus) -> str:
    """Return the stack status as JSON (the venvstacks 0.8 ``show --json`` format)."""
    data: dict[str, Any] = {"spec_name": str(status.spec.path.absolute())}
    for kind in LayerKind:
        data[kind.value] = [
            _layer_json(layer, with_dependencies=kind is not LayerKind.RUNTIME)
            for layer in status.layers
            if layer.kind is kind
        ]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
