"""Checks of an application's launch and support modules, as files on disk.

Each module named in the spec must exist and be a ``.py`` file or a package
folder; a launch module that is a package must hold ``__main__.py`` (what
``python -m <package>`` runs).  Every Python file that the build will copy into
the layer (the source tree of a package, see `venvstacks.hashing`) must parse
and compile as source of the Python version the layer runs on
(``ast.parse(..., feature_version=(3, minor))``), so a syntax error is reported
when the spec is loaded rather than by the deployed application.

Python grammar newer than the interpreter running venvstacks can't be checked:
when a layer's runtime is newer and a file doesn't parse, that is a warning,
not an error.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from venvstacks.errors import Problem
from venvstacks.hashing import find_source_filter, walk_source_tree
from venvstacks.spec.graph import LayerEntry, LayerGraph
from venvstacks.spec.models import ApplicationSpecModel
from venvstacks.spec.naming import LayerName, compute_build_name

_VERSION = re.compile(r"[a-z]+@3\.(?P<minor>\d+)")
_HOST_MINOR = sys.version_info.minor


@dataclass(frozen=True)
class ModuleProblems:
    """What checking the modules found: errors, and warnings about what couldn't be checked."""

    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()


def compute_python_minor(python_implementation: str) -> int | None:
    """Return the minor version of a Python 3 ``python_implementation`` (``cpython@3.11.7`` -> 11)."""
    match = _VERSION.match(python_implementation)
    return int(match["minor"]) if match else None


def render_syntax_error(exc: SyntaxError | ValueError, name: str) -> str:
    """Return ``<name>, line L, column C: <message>`` for a parse or compile failure."""
    if not isinstance(exc, SyntaxError):
        return f"{name}: {exc}"
    where = name
    if exc.lineno is not None:
        where += f", line {exc.lineno}"
        if exc.offset is not None:
            where += f", column {exc.offset}"
    return f"{where}: {exc.msg}"


def check_python_source(source: bytes, name: str, minor: int) -> str | None:
    """Parse and compile *source* as Python ``3.<minor>``; return the problem, or None."""
    try:
        tree = ast.parse(source, name, feature_version=(3, min(minor, _HOST_MINOR)))
        compile(tree, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return render_syntax_error(exc, name)
    return None


def _python_files(path: Path, text: str) -> Iterator[tuple[Path, str]]:
    """Yield the ``.py`` files the build copies from the module at *path*, with display names."""
    if not path.is_dir():
        yield path, text
        return
    for folder, dirnames, filenames in walk_source_tree(path, find_source_filter(path)):
        dirnames[:] = [name for name in dirnames if name != "__pycache__"]
        for name in filenames:
            if name.endswith(".py"):
                file = folder / name
                yield file, "/".join([text.rstrip("/"), *file.relative_to(path).parts])


@dataclass(frozen=True)
class _Module:
    noun: str
    key: str
    text: str


def _check_path(file: str, path: Path, module: _Module) -> str | None:
    """Return the problem with what the module's path names, or None."""
    noun, text = module.noun, module.text
    if not path.exists():
        return f"{noun} {text!r} does not exist (paths are relative to the folder holding {file})"
    if not path.is_dir() and path.suffix != ".py":
        return f"{noun} {text!r} must be a .py file or a package folder"
    if noun == "launch module" and path.is_dir() and not (path / "__main__.py").is_file():
        return (
            f"launch module {text!r} is a package folder without __main__.py, so "
            f"'python -m {path.name}' can't run it; add {text.rstrip('/')}/__main__.py"
        )
    return None


def _check_sources(
    path: Path, module: _Module, implementation: str
) -> tuple[str | None, str | None]:
    """Return the error or the warning (or neither) about the module's Python files."""
    minor = compute_python_minor(implementation)
    if minor is None:
        return None, None
    noun, text = module.noun, module.text
    for source_path, name in _python_files(path, text):
        try:
            source = source_path.read_bytes()
        except OSError as exc:
            return f"{noun} {text!r} can't be read ({name}: {exc.strerror})", None
        problem = check_python_source(source, name, minor)
        if problem is None:
            continue
        message = f"{noun} {text!r} doesn't parse as Python 3.{minor} source ({problem})"
        if minor > _HOST_MINOR:
            return None, (
                f"{message}; venvstacks runs on Python 3.{_HOST_MINOR} and can't check newer "
                f"syntax: check it with the layer's runtime ({implementation})"
            )
        return f"{message}; fix it (the layer runs on {implementation})", None
    return None, None


def check_module_files(
    file: str, spec_dir: Path, entries: Iterable[LayerEntry], graph: LayerGraph
) -> ModuleProblems:
    """Check every application's launch and support modules (see the module docstring).

    *graph* supplies each application's Python version; an application missing
    from it (its dependencies are invalid) gets every check but parsing.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    resolved = {layer.toml_path: layer for layer in graph}
    for entry in entries:
        model = entry.model
        if not isinstance(model, ApplicationSpecModel):
            continue
        label = compute_build_name(entry.kind, LayerName(model.name))
        layer = resolved.get(entry.toml_path)
        implementation = None if layer is None else layer.python_implementation
        modules = [_Module("launch module", "launch_module", model.launch_module)]
        modules += [
            _Module("support module", f"support_modules[{n}]", text)
            for n, text in enumerate(model.support_modules)
        ]
        for module in modules:
            path = spec_dir / module.text
            error, warning = _check_path(file, path, module), None
            if error is None and implementation is not None:
                error, warning = _check_sources(path, module, implementation)
            where = f"{entry.toml_path}.{module.key}"
            if error is not None:
                problems.append(Problem(file, error, where, label))
            if warning is not None:
                warnings.append(Problem(file, warning, where, label))
    return ModuleProblems(tuple(problems), tuple(warnings))
