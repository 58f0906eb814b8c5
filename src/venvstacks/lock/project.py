"""The synthetic uv project each layer is resolved in (pure).

For every layer venvstacks writes ``<build dir>/<build name>_resolve/pyproject.toml``:
the layer's requirements as project dependencies, ``requires-python`` pinned to
the runtime's ``X.Y``, and a ``[tool.uv]`` table holding the stack's uv
settings plus what venvstacks always adds (wheels only, lower-layer pins as
constraints, the layer's own index choices).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from venvstacks.spec.graph import Layer


@dataclass(frozen=True)
class IndexOptions:
    """Command-line index choices: ``--index/--no-index`` and ``--local-wheels DIR``."""

    query_default_index: bool = True
    local_wheel_dirs: tuple[Path, ...] = ()


def compute_project_name(build_name: str) -> str:
    """Return a valid project name for a layer (characters outside ``[A-Za-z0-9._-]`` become ``-``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", build_name)


def _layer_indexes(
    indexes: Sequence[Mapping[str, Any]], priority: Sequence[str]
) -> list[dict[str, Any]]:
    # priority_indexes move to the front, in the given order, and stop being explicit.
    by_name = {entry.get("name"): dict(entry) for entry in indexes}
    front = []
    for name in priority:
        entry = by_name[name]
        entry.pop("explicit", None)
        front.append(entry)
    rest = [dict(entry) for entry in indexes if entry.get("name") not in priority]
    return front + rest


def _absolute_link(entry: object, spec_dir: Path) -> object:
    # The project is resolved in the build folder; relative paths mean the spec's folder.
    if isinstance(entry, str) and "://" not in entry and not Path(entry).is_absolute():
        return str(spec_dir.absolute() / entry)
    return entry


def compute_uv_table(
    layer: Layer,
    settings: Mapping[str, Any],
    constraints: Sequence[str],
    options: IndexOptions,
    *,
    spec_dir: Path,
) -> dict[str, Any]:
    """Return the ``[tool.uv]`` table for resolving *layer* (relative paths against *spec_dir*)."""
    table = {key: value for key, value in settings.items() if key not in {"index", "sources"}}
    if "find-links" in table:
        table["find-links"] = [_absolute_link(entry, spec_dir) for entry in table["find-links"]]
    indexes = _layer_indexes(settings.get("index", []), layer.priority_indexes)
    if indexes:
        table["index"] = indexes
    sources = {name: dict(entry) for name, entry in settings.get("sources", {}).items()}
    sources.update({package: {"index": index} for package, index in layer.package_indexes.items()})
    if sources:
        table["sources"] = sources
    # Always: resolution from wheels only, and re-resolve when the project changes.
    table["no-build"] = True
    table["cache-keys"] = [{"file": "pyproject.toml"}]
    if not options.query_default_index:
        table["no-index"] = True
    if options.local_wheel_dirs:
        table["find-links"] = [
            *table.get("find-links", []),
            *(str(path) for path in options.local_wheel_dirs),
        ]
    if constraints:
        table["constraint-dependencies"] = list(constraints)
    return table


def render_resolve_project(
    layer: Layer,
    py_version: str,
    settings: Mapping[str, Any],
    constraints: Sequence[str],
    options: IndexOptions,
    *,
    spec_dir: Path,
) -> str:
    """Render the ``pyproject.toml`` of the project *layer* is resolved in."""
    short = ".".join(py_version.split(".")[:2])
    document = {
        "project": {
            "name": compute_project_name(layer.build_name),
            "version": "0",
            "dependencies": [str(requirement) for requirement in layer.requirements],
            "requires-python": f"=={short}.*",
        },
        "tool": {"uv": compute_uv_table(layer, settings, constraints, options, spec_dir=spec_dir)},
    }
    return tomlkit.dumps(document)
