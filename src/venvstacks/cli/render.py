"""Render pipeline results for the terminal (tree) and for programs (JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.tree import Tree

from venvstacks.lock.metadata import render_locked_at
from venvstacks.pipeline import LayerStatus, LockResult, StackStatus
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
    if status.operations:
        label += f" ({', '.join(status.operations)})"
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
        "selected_operations": None if status.operations is None else list(status.operations),
    }
    if with_dependencies:
        data["dependencies"] = [
            _layer_json(dep, with_dependencies=False) for dep in status.dependencies
        ]
    return data


def render_status_json(status: StackStatus, *, with_dependencies: bool = True) -> str:
    """Return the stack status as JSON (the venvstacks 0.8 ``show --json`` format).

    ``--show`` on other commands reports operations instead of dependencies.
    """
    data: dict[str, Any] = {"spec_name": str(status.spec.path.absolute())}
    for kind in LayerKind:
        data[kind.value] = [
            _layer_json(
                layer, with_dependencies=with_dependencies and kind is not LayerKind.RUNTIME
            )
            for layer in status.layers
            if layer.kind is kind
        ]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def render_lock_result(result: LockResult) -> str:
    """Return what ``venvstacks lock`` did: each lock file, its lock time and what changed."""
    if not result.locked:
        return "No layers found to lock."
    base = result.spec.spec_dir / "requirements"
    lines = [f"Lock files (relative to {base.absolute()}):"]
    for layer in result.locked:
        status = layer.status
        stored = status.stored
        when = render_locked_at(stored.locked_at) if stored is not None else "never"
        note = "updated" if layer.changed else "unchanged"
        name = status.deployed_name
        lines.append(
            f"  {status.paths.pylock.relative_to(base).as_posix()}  {name}  locked at {when}  ({note})"
        )
    return "\n".join(lines)
