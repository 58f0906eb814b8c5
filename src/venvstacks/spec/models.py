"""Pydantic models of the ``venvstacks.toml`` file format (venvstacks 0.8 compatible).

These models describe the file exactly as written: field names, types and the
checks that need only one value (requirement syntax, platform names, targets).
Checks that relate layers to each other live in `venvstacks.spec.graph`.
Validation failures are turned into located, one-line problems by
`venvstacks.spec.problems`; the `ValueError` messages below are shown verbatim.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import AfterValidator, BaseModel, ConfigDict, StrictBool, StrictStr

from venvstacks.spec.naming import RESERVED_RUNTIME_PREFIXES
from venvstacks.spec.platforms import (
    ALL_PLATFORMS,
    TargetPlatform,
    parse_linux_target,
    parse_macosx_target,
    render_platform_list,
)

_PYTHON_IMPLEMENTATION = re.compile(
    r"(?P<impl>[a-z]+)@(?P<version>\d+\.\d+(?:\.\d+(?:(?:a|b|rc)\d+)?)?)"
)
IMPLEMENTATIONS = ("cpython", "pypy")


def _check_name(value: str) -> str:
    if not value.strip():
        raise ValueError("layer name can't be empty")
    if "/" in value or "\\" in value or value in {".", ".."}:
        raise ValueError(
            f"layer name {value!r} can't contain '/' or '\\' or be '.' or '..' "
            "(layer names become folder names)"
        )
    return value


def _check_requirement(value: str) -> str:
    try:
        Requirement(value)
    except InvalidRequirement as exc:
        first_line = str(exc).splitlines()[0]
        raise ValueError(
            f"invalid requirement {value!r}: {first_line}; "
            "use PEP 508 syntax such as 'numpy>=2.0' or 'torch; sys_platform == \"linux\"'"
        ) from None
    return value


def _check_platform(value: str) -> str:
    if value not in TargetPlatform.__members__.values():
        raise ValueError(
            f"invalid target platform {value!r}; expected one of [{render_platform_list(ALL_PLATFORMS)}]"
        )
    return value


def _check_linux_target(value: str) -> str:
    parse_linux_target(value)
    return value


def _check_macosx_target(value: str) -> str:
    parse_macosx_target(value)
    return value


def _check_python_implementation(value: str) -> str:
    match = _PYTHON_IMPLEMENTATION.fullmatch(value)
    if match is None:
        raise ValueError(
            f"invalid Python implementation {value!r}; use '<implementation>@<version>' "
            "such as 'cpython@3.12.7' or 'cpython@3.12'"
        )
    if match["impl"] not in IMPLEMENTATIONS:
        raise ValueError(
            f"unknown Python implementation {match['impl']!r} in {value!r}; "
            f"expected one of {list(IMPLEMENTATIONS)}"
        )
    return value


def _check_module_path(value: str) -> str:
    if value.strip() in {"", "."}:
        raise ValueError(
            "module path can't be empty; give the path of a .py file or package folder, "
            "relative to the spec's folder"
        )
    return value


Name = Annotated[StrictStr, AfterValidator(_check_name)]
RequirementText = Annotated[StrictStr, AfterValidator(_check_requirement)]
PlatformName = Annotated[StrictStr, AfterValidator(_check_platform)]
ModulePath = Annotated[StrictStr, AfterValidator(_check_module_path)]


class _SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerSpecModel(_SpecModel):
    """Fields shared by every layer kind."""

    name: Name
    requirements: tuple[RequirementText, ...]
    platforms: tuple[PlatformName, ...] | None = None
    versioned: StrictBool = False
    linux_target: Annotated[StrictStr, AfterValidator(_check_linux_target)] | None = None
    macosx_target: Annotated[StrictStr, AfterValidator(_check_macosx_target)] | None = None
    dynlib_exclude: tuple[StrictStr, ...] = ()
    package_indexes: dict[StrictStr, StrictStr] = {}
    priority_indexes: tuple[StrictStr, ...] = ()
    index_overrides: dict[StrictStr, StrictStr] = {}


def _check_runtime_name(value: str) -> str:
    for prefix in RESERVED_RUNTIME_PREFIXES:
        if value.startswith(prefix):
            raise ValueError(
                f"runtime name {value!r} starts with reserved prefix {prefix!r}; rename the "
                "runtime (framework and application build names start with that prefix)"
            )
    return value


class RuntimeSpecModel(LayerSpecModel):
    """A ``[[runtimes]]`` entry: a base Python runtime plus shared packages."""

    name: Annotated[StrictStr, AfterValidator(_check_name), AfterValidator(_check_runtime_name)]
    python_implementation: Annotated[StrictStr, AfterValidator(_check_python_implementation)]


def _check_package_name(value: str) -> str:
    if not _PACKAGE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a package name (letters, digits, '.', '-', '_')")
    return value


_PACKAGE_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


class LayeredSpecModel(LayerSpecModel):
    """Fields of layers that sit on a runtime (directly or through frameworks)."""

    runtime: Name | None = None
    frameworks: tuple[Name, ...] | None = None
    # Locked (so every layer agrees on versions) but not installed by the build.
    exclude_packages: tuple[Annotated[StrictStr, AfterValidator(_check_package_name)], ...] = ()


class FrameworkSpecModel(LayeredSpecModel):
    """A ``[[frameworks]]`` entry: a virtual environment of shared packages."""


class ApplicationSpecModel(LayeredSpecModel):
    """An ``[[applications]]`` entry: packages plus a launch module run with ``python -m``."""

    launch_module: ModulePath
    support_modules: tuple[ModulePath, ...] = ()


class StackFileModel(BaseModel):
    """The top level of ``venvstacks.toml``.

    Unknown top-level keys are allowed (the loader warns about them), as
    venvstacks 0.8 ignored them.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    # Layer tables are validated one by one (with the models above), so that a
    # problem in one layer doesn't hide the problems of the others.
    runtimes: tuple[dict[StrictStr, Any], ...] = ()
    frameworks: tuple[dict[StrictStr, Any], ...] = ()
    applications: tuple[dict[StrictStr, Any], ...] = ()
    tool: dict[StrictStr, Any] = {}


class UvIndexModel(BaseModel):
    """One ``[[tool.uv.index]]`` entry; only the fields venvstacks reads are checked."""

    # uv owns this format and adds settings over time: pass unknown keys through.
    model_config = ConfigDict(extra="allow", frozen=True)

    url: StrictStr
    name: StrictStr | None = None
    explicit: StrictBool = False
    default: StrictBool = False


class UvConfigModel(BaseModel):
    """The ``[tool.uv]`` table (or ``venvstacks.uv.toml``) as far as venvstacks reads it."""

    # Other uv settings are passed through to uv unchanged, which validates them.
    model_config = ConfigDict(extra="allow", frozen=True)

    index: tuple[UvIndexModel, ...] = ()
    # Values are checked by `venvstacks.spec.indexes`: only ``{ index = "<name>" }`` is allowed.
    sources: dict[StrictStr, Any] = {}


KIND_FIELDS: dict[str, frozenset[str]] = {
    "runtimes": frozenset(RuntimeSpecModel.model_fields),
    "frameworks": frozenset(FrameworkSpecModel.model_fields),
    "applications": frozenset(ApplicationSpecModel.model_fields),
}
