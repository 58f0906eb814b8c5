"""Package indexes: the uv configuration venvstacks reads, and per-layer index choices.

The baseline uv settings come from ``[tool.uv]`` in the spec or, when that table
is absent, from ``venvstacks.uv.toml`` beside it.  Named ``[[index]]`` entries
are the vocabulary of the layer fields ``package_indexes``, ``priority_indexes``
and ``index_overrides``.  ``package_indexes`` choices are inherited by upper
layers; a conflicting choice must be accepted explicitly with ``index_overrides``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from venvstacks.spec.models import UvConfigModel
from venvstacks.spec.problems import render_toml_key


@dataclass(frozen=True)
class UvSettings:
    """The stack's baseline uv settings.

    ``settings`` is the table exactly as written (passed on to uv by later
    stages); ``index_names`` are the names of its named indexes and ``sources``
    maps normalised package names to the index each must come from.
    """

    source: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    index_names: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)


def compute_uv_settings(
    model: UvConfigModel, raw: Mapping[str, Any], source: str
) -> tuple[UvSettings, list[tuple[tuple[str | int, ...], str]]]:
    """Check the indexes and sources of a uv table.

    Returns the settings and a list of ``(location, message)`` problems, the
    location being relative to the uv table.
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []
    names: list[str] = []
    for position, index in enumerate(model.index):
        if index.name is None:
            continue
        if index.name in names:
            problems.append(
                (
                    ("index", position, "name"),
                    f"index name {index.name!r} is already used by an earlier index",
                )
            )
        else:
            names.append(index.name)
    sources: dict[str, str] = {}
    for package, source_entry in model.sources.items():
        index_name = _source_index(source_entry)
        if index_name is None:
            problems.append(
                (
                    ("sources", package),
                    (
                        f'source for {package!r} must be {{ index = "<index name>" }}; venvstacks '
                        "installs only wheels from package indexes (no git, path or URL sources)"
                    ),
                )
            )
            continue
        normalised = canonicalize_name(package)
        if normalised in sources:
            problems.append(
                (
                    ("sources", package),
                    f"multiple sources for {normalised!r} after name normalization; keep one",
                )
            )
            continue
        if index_name not in names:
            problems.append(
                (
                    ("sources", package, "index"),
                    (
                        f"source for {package!r} references an unknown package index "
                        f"{index_name!r}{_known(names)}"
                    ),
                )
            )
        sources[normalised] = index_name
    return UvSettings(source, dict(raw), tuple(names), sources), problems


def _source_index(entry: object) -> str | None:
    """Return the index name of a ``{ index = "<name>" }`` source, else ``None``."""
    if isinstance(entry, dict) and set(entry) == {"index"} and isinstance(entry["index"], str):
        return entry["index"]
    return None


def _known(names: Sequence[str]) -> str:
    if not names:
        return "; no named package indexes are defined in the uv settings"
    return f"; named indexes are {', '.join(repr(n) for n in names)}"


def check_index_name(name: str, settings: UvSettings) -> str | None:
    """Return a problem message if *name* is not a named index of *settings*."""
    if name in settings.index_names:
        return None
    return f"unknown package index {name!r}{_known(settings.index_names)}"


def merge_package_indexes(
    inherited: Sequence[tuple[str, Mapping[str, str]]],
    own: Mapping[str, str],
    overrides: Mapping[str, str],
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Combine inherited per-package index choices with a layer's own.

    *inherited* lists ``(layer label, merged map)`` for each dependency in
    ``sys.path`` order; earlier entries win.  A later dependency (or the layer's
    own entry) that picks a different index for a package is an error unless
    *overrides* maps the rejected index name to the kept one (``{later =
    "earlier"}`` between dependencies, ``{inherited = "own"}`` for own entries).
    Keys must already be normalised.  Returns the merged map and a list of
    ``(key, message)`` problems, the key being the layer field to look at.
    """
    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for label, mapping in inherited:
        for package, index in mapping.items():
            kept = merged.get(package)
            if kept is None:
                merged[package] = index
                origin[package] = label
            elif kept != index and overrides.get(index) != kept:
                problems.append(
                    (
                        "frameworks",
                        (
                            f"{origin[package]!r} gets {package!r} from index {kept!r} but {label!r} "
                            f"gets it from {index!r}; to accept this, add {_render_override(index, kept)}"
                        ),
                    )
                )
    for package, index in own.items():
        kept = merged.get(package)
        if kept is not None and kept != index and overrides.get(kept) != index:
            problems.append(
                (
                    f"package_indexes.{render_toml_key(package)}",
                    (
                        f"package_indexes picks index {index!r} for {package!r} but "
                        f"{origin[package]!r} gets it from {kept!r}; to accept this, add "
                        f"{_render_override(kept, index)}"
                    ),
                )
            )
        merged[package] = index
    return merged, problems


def _render_override(rejected: str, kept: str) -> str:
    return f'index_overrides = {{{render_toml_key(rejected)} = "{kept}"}}'
