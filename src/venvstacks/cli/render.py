"""Render pipeline results for the terminal (tree) and for programs (JSON)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
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
    if status.exclude_packages:
        label += f" [excludes: {', '.join(status.exclude_packages)}]"
    return label


# Each tree level indents its children's labels by one guide ("├── ").
_GUIDE_WIDTH = 4


@dataclass(frozen=True)
class StatusTree:
    """A status tree that rich draws as wide as its widest line.

    Rich crops every line at the console width, which is 80 columns when the
    output is not a terminal: spec paths and layer names would be cut short.
    """

    tree: Tree
    width: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from console.render(
            self.tree, options.update_width(max(self.width, options.max_width))
        )


def render_status_tree(status: StackStatus) -> StatusTree:
    """Return the stack status as a rich tree (kinds, layers, dependencies).

    Labels are `Text`, never markup: a ``[...]`` in a path or layer name is shown as is.
    """
    root = Text(str(status.spec.path.absolute()))
    tree = Tree(root, highlight=False)
    width = root.cell_len
    for kind, heading in _HEADINGS.items():
        layers = [layer for layer in status.layers if layer.kind is kind]
        if not layers:
            continue
        branch = tree.add(Text(heading))
        for layer in layers:
            label = Text(render_layer_label(layer))
            node = branch.add(label)
            width = max(width, 2 * _GUIDE_WIDTH + label.cell_len)
            for dependency in layer.dependencies:
                label = Text(render_layer_label(dependency))
                node.add(label)
                width = max(width, 3 * _GUIDE_WIDTH + label.cell_len)
    return StatusTree(tree, width)


def _layer_json(status: LayerStatus, *, with_dependencies: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": status.build_name,
        "install_target": status.deployed_name,
        "has_valid_lock": status.has_valid_lock,
        "selected_operations": None if status.operations is None else list(status.operations),
    }
    if status.exclude_packages:  # our addition: absent when empty, as in venvstacks 0.8
        data["exclude_packages"] = list(status.exclude_packages)
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


def print_status(status: StackStatus, *, json_output: bool, with_dependencies: bool = True) -> None:
    """Print a stack status to stdout, as JSON or as a tree."""
    if json_output:
        sys.stdout.write(render_status_json(status, with_dependencies=with_dependencies))
    else:
        Console(highlight=False, soft_wrap=True).print(render_status_tree(status))
