"""The operations behind each CLI command, as plain functions over the stages.

Each function takes the command's inputs, runs the stages in order and returns
an immutable result for the CLI to render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from venvstacks.spec.graph import Layer
from venvstacks.spec.load import StackSpec, load_stack_spec
from venvstacks.spec.naming import BuildName, DeployedName, LayerKind, compute_deployed_name
from venvstacks.spec.selection import select_layers


@dataclass(frozen=True)
class LayerStatus:
    """What ``show`` reports for one layer."""

    kind: LayerKind
    build_name: BuildName
    deployed_name: DeployedName
    has_valid_lock: bool
    dependencies: tuple[LayerStatus, ...] = ()


@dataclass(frozen=True)
class StackStatus:
    """What ``show`` reports for a stack: the selected layers in definition order."""

    spec: StackSpec
    layers: tuple[LayerStatus, ...]
    unmatched_patterns: tuple[str, ...] = ()


def _layer_status(layer: Layer, dependencies: tuple[LayerStatus, ...] = ()) -> LayerStatus:
    # Lock files are not read yet: until locking is implemented, every layer is
    # reported as not locked, and versioned layers as '<name>@???'.
    return LayerStatus(
        kind=layer.kind,
        build_name=layer.build_name,
        deployed_name=compute_deployed_name(
            layer.build_name, versioned=layer.versioned, lock_version=None
        ),
        has_valid_lock=False,
        dependencies=dependencies,
    )


def show_stack(
    spec_path: Path, patterns: Sequence[str] = (), *, allow_missing: bool = False
) -> StackStatus:
    """Load a stack and describe the selected layers and their dependencies.

    With *patterns*, the matching layers, the layers they run on and the layers
    that run on them are described.  Touches neither the network nor the disk
    (apart from reading the spec).
    """
    spec = load_stack_spec(spec_path)
    selection = select_layers(spec.graph, patterns, allow_missing=allow_missing)
    layers = tuple(
        _layer_status(
            layer,
            tuple(_layer_status(dep) for dep in spec.graph.dependencies(layer)),
        )
        for layer in selection.layers
    )
    return StackStatus(spec=spec, layers=layers, unmatched_patterns=selection.unmatched)
