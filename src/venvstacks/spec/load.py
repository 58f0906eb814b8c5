"""Read ``venvstacks.toml`` (and ``venvstacks.uv.toml``) into a validated `StackSpec`.

Loading collects every problem in the files before giving up, so the user can fix
them all at once; each problem names the file, the layer and the TOML path.
Obsolete fields that venvstacks 0.8 still accepted produce warnings.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from venvstacks.errors import Problem, SpecError
from venvstacks.spec.graph import LayerEntry, LayerGraph, compute_layer_graph
from venvstacks.spec.indexes import UvSettings, compute_uv_settings
from venvstacks.spec.models import (
    KIND_FIELDS,
    ApplicationSpecModel,
    FrameworkSpecModel,
    LayerSpecModel,
    RuntimeSpecModel,
    StackFileModel,
    UvConfigModel,
)
from venvstacks.spec.modules import check_module_files
from venvstacks.spec.naming import LayerKind, LayerName, compute_build_name
from venvstacks.spec.problems import (
    describe_toml_value,
    problems_from_validation_error,
    render_toml_path,
    suggest,
)

SPEC_NAME = "venvstacks.toml"
UV_CONFIG_NAME = "venvstacks.uv.toml"

_MODELS: dict[LayerKind, type[LayerSpecModel]] = {
    LayerKind.RUNTIME: RuntimeSpecModel,
    LayerKind.FRAMEWORK: FrameworkSpecModel,
    LayerKind.APPLICATION: ApplicationSpecModel,
}
_TOP_LEVEL_KEYS = ("runtimes", "frameworks", "applications", "tool")
_KIND_ORDER = tuple(kind.value for kind in LayerKind)
_LAYER_PATH = re.compile(rf"(?P<kind>{'|'.join(_KIND_ORDER)})\[(?P<position>\d+)\]")
_TOML_POSITION = re.compile(
    r"(?P<message>.*) \(at (?P<where>line \d+, column \d+|end of document)\)"
)


@dataclass(frozen=True)
class StackSpec:
    """A validated stack specification.

    ``path`` is the spec file as the user named it (used in messages), and
    ``spec_dir`` the folder that relative paths in it are resolved against.
    """

    path: Path
    graph: LayerGraph
    uv: UvSettings
    warnings: tuple[Problem, ...] = ()

    @property
    def spec_dir(self) -> Path:
        """The folder holding the spec file."""
        return self.path.parent


def load_stack_spec(path: Path) -> StackSpec:
    """Load and validate the stack specification at *path*.

    *path* may also name the folder holding a ``venvstacks.toml``.  Raises
    `SpecError` listing every problem found.
    """
    if path.is_dir():
        path /= SPEC_NAME
    file = str(path)
    data = _load_toml(path, file)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    try:
        top = StackFileModel.model_validate(data)
    except ValidationError as exc:
        # The layer arrays themselves are malformed: nothing below can be checked.
        raise SpecError(problems_from_validation_error(exc, file=file)) from None
    warnings.extend(
        Problem(
            file,
            f"unknown top-level key {key!r} is ignored{suggest(key, _TOP_LEVEL_KEYS)}",
            render_toml_path((key,)),
        )
        for key in data
        if key not in _TOP_LEVEL_KEYS
    )
    uv, uv_problems = _load_uv_settings(path, top.tool, warnings)
    problems.extend(uv_problems)
    entries = [
        _validate_layer(file, kind, position, table, problems=problems, warnings=warnings)
        for kind, tables in (
            (LayerKind.RUNTIME, top.runtimes),
            (LayerKind.FRAMEWORK, top.frameworks),
            (LayerKind.APPLICATION, top.applications),
        )
        for position, table in enumerate(tables)
    ]
    graph, graph_problems = compute_layer_graph(entries, uv)
    problems.extend(
        Problem(file, message, where, layer) for layer, where, message in graph_problems
    )
    modules = check_module_files(file, path.parent, entries, graph)
    problems.extend(modules.problems)
    warnings.extend(modules.warnings)
    if problems:
        raise SpecError(sorted(problems, key=_layer_order), warnings)
    return StackSpec(path=path, graph=graph, uv=uv, warnings=tuple(warnings))


def _layer_order(problem: Problem) -> tuple[int, int]:
    """Sort key putting layer problems in layer order, after the uv settings' problems."""
    match = _LAYER_PATH.match(problem.where)
    if match is None:
        return (-1, 0)
    return (_KIND_ORDER.index(match["kind"]), int(match["position"]))


def _load_toml(path: Path, file: str) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError(
            [
                Problem(
                    file, "file not found; pass the path of a stack specification (venvstacks.toml)"
                )
            ]
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            [Problem(file, f"is not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.fullmatch(str(exc))
        message, where = (match["message"], match["where"]) if match else (str(exc), "")
        raise SpecError([Problem(file, f"invalid TOML: {message}", where)]) from None


def _load_uv_settings(
    spec_path: Path, tool: Mapping[str, Any], warnings: list[Problem]
) -> tuple[UvSettings, list[Problem]]:
    """Read ``[tool.uv]``, or ``venvstacks.uv.toml`` when the spec has no such table."""
    uv_path = spec_path.with_name(UV_CONFIG_NAME)
    if "uv" in tool:
        if uv_path.exists():
            warnings.append(
                Problem(str(uv_path), f"ignored, because {spec_path} has a [tool.uv] table")
            )
        prefix: tuple[str, ...] = ("tool", "uv")
        file, raw = str(spec_path), tool["uv"]
    elif uv_path.exists():
        file, prefix, raw = str(uv_path), (), _load_toml(uv_path, str(uv_path))
    else:
        return UvSettings(source=""), []
    if not isinstance(raw, dict):
        return UvSettings(source=file), [
            Problem(
                file, f"expected a table, got {describe_toml_value(raw)}", render_toml_path(prefix)
            )
        ]
    try:
        model = UvConfigModel.model_validate(raw)
    except ValidationError as exc:
        # Keep the index names that are there, so that layers using them don't
        # report follow-on "unknown package index" problems.
        names = tuple(
            entry["name"]
            for entry in raw.get("index", ())
            if isinstance(entry, dict) and isinstance(entry.get("name"), str)
        )
        settings = UvSettings(source=file, settings=raw, index_names=names)
        return settings, problems_from_validation_error(exc, file=file, prefix=prefix)
    settings, problems = compute_uv_settings(model, raw, file)
    return settings, [
        Problem(file, message, render_toml_path((*prefix, *loc))) for loc, message in problems
    ]


def _validate_layer(
    file: str,
    kind: LayerKind,
    position: int,
    table: Mapping[str, Any],
    *,
    problems: list[Problem],
    warnings: list[Problem],
) -> LayerEntry:
    """Validate one layer table; record its problems and return its entry."""
    raw_name = table.get("name")
    name = raw_name if isinstance(raw_name, str) else None
    label = compute_build_name(kind, LayerName(name)) if name is not None else ""
    where = f"{kind.value}[{position}]"
    fields = dict(table)
    # Keys reported here are removed before validation, so that the layer's other
    # fields are still checked (any problem keeps the whole spec from loading).
    if "build_requirements" in fields:
        del fields["build_requirements"]
        warnings.append(
            Problem(file, "obsolete and ignored; remove it", f"{where}.build_requirements", label)
        )
    if "fully_versioned_name" in fields and kind is LayerKind.RUNTIME:
        if "python_implementation" in fields:
            problems.append(
                Problem(
                    file,
                    "sets both 'python_implementation' and the obsolete 'fully_versioned_name'; "
                    "remove 'fully_versioned_name'",
                    f"{where}.fully_versioned_name",
                    label,
                )
            )
        else:
            warnings.append(
                Problem(
                    file,
                    "obsolete; rename it to 'python_implementation'",
                    f"{where}.fully_versioned_name",
                    label,
                )
            )
            fields["python_implementation"] = fields["fully_versioned_name"]
        del fields["fully_versioned_name"]
    for key in list(fields):
        owners = [
            other for other, keys in KIND_FIELDS.items() if key in keys and other != kind.value
        ]
        if key not in KIND_FIELDS[kind.value] and owners:
            problems.append(
                Problem(
                    file,
                    f"{key!r} can't be set in [[{kind.value}]]; it is only valid in "
                    + " and ".join(f"[[{owner}]]" for owner in owners),
                    f"{where}.{key}",
                    label,
                )
            )
            del fields[key]
    model_type = _MODELS[kind]
    try:
        model: LayerSpecModel | None = model_type.model_validate(fields)
    except ValidationError as exc:
        problems.extend(
            problems_from_validation_error(
                exc,
                file=file,
                prefix=(kind.value, position),
                layer_of=lambda _loc: label,
                valid_keys=lambda _loc: model_type.model_fields,
            )
        )
        model = None
    return LayerEntry(kind, position, model, name)
