"""Layer selection for ``--include``: which layers a command works on, and why.

A pattern is matched with `fnmatch` against build names (``framework-*``,
``app-chat``); matching is case-insensitive on Windows, like file names.  The
selection holds the included layers, the layers they run on (dependencies) and,
when asked for, the layers that run on them (derived layers).  Commands decide
what to do with each group; nothing here mutates the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch

from venvstacks.errors import SelectionError
from venvstacks.spec.graph import Layer, LayerGraph
from venvstacks.spec.naming import BuildName


@dataclass(frozen=True)
class LayerSelection:
    """The layers one command works on, grouped by why they were selected.

    A layer can be both a dependency and derived (it sits between two included
    layers).  ``unmatched`` lists the patterns that matched nothing (only
    possible with ``allow_missing``).
    """

    graph: LayerGraph
    included: frozenset[BuildName]
    dependencies: frozenset[BuildName]
    derived: frozenset[BuildName]
    unmatched: tuple[str, ...] = ()

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The selected layers, in definition order."""
        chosen = self.included | self.dependencies | self.derived
        return tuple(layer for layer in self.graph if layer.build_name in chosen)


def select_layers(
    graph: LayerGraph,
    patterns: Sequence[str] = (),
    *,
    allow_missing: bool = False,
    include_derived: bool = True,
) -> LayerSelection:
    """Select the layers matching *patterns* (all layers when there are none).

    Layers that target no platforms (``platforms = []``) are never selected.
    Raises `SelectionError` for patterns matching no layer unless
    *allow_missing* is set.
    """
    enabled = tuple(layer for layer in graph if layer.enabled)
    if not patterns:
        return LayerSelection(
            graph, frozenset(layer.build_name for layer in enabled), frozenset(), frozenset()
        )
    unmatched = tuple(
        p for p in patterns if not any(fnmatch(layer.build_name, p) for layer in enabled)
    )
    if unmatched and not allow_missing:
        names = ", ".join(layer.build_name for layer in enabled)
        disabled = [
            layer.build_name
            for layer in graph
            if not layer.enabled and any(fnmatch(layer.build_name, p) for p in unmatched)
        ]
        note = (
            f"; {', '.join(disabled)} target no platforms (platforms = []) and are never selected"
            if disabled
            else ""
        )
        raise SelectionError(
            f"no layers match {', '.join(repr(p) for p in unmatched)} (layers are: {names}){note}; "
            "pass --allow-missing to skip patterns that match nothing"
        )
    included = [layer for layer in enabled if any(fnmatch(layer.build_name, p) for p in patterns)]
    dependencies = {dep.build_name for layer in included for dep in graph.dependencies(layer)}
    derived: set[BuildName] = set()
    if include_derived:
        derived = {
            upper.build_name
            for layer in included
            for upper in graph.derived(layer)
            if upper.enabled
        }
    chosen = {layer.build_name for layer in included}
    return LayerSelection(
        graph,
        frozenset(chosen),
        frozenset(dependencies - chosen),
        frozenset(derived - chosen),
        unmatched,
    )
