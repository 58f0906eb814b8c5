"""Run a program with its file-system mutations counted, killed at mutation *k*.

Started by `tests.crash.harness` as ``python _child.py ARG...`` (a script, so
nothing is added to ``PYTHONPATH`` that the program's own subprocesses would
inherit).  Configuration comes from the environment and is removed from it
before the program starts:

``VENVSTACKS_CRASH_LOG``
    file to append one JSON line per mutation to: ``[k, function, group, [paths]]``
``VENVSTACKS_CRASH_AT``
    the mutation to die at (``0``: never)
``VENVSTACKS_CRASH_ENTRY``
    ``module:function`` to call (default ``venvstacks.cli:main``) or the path of
    a script to run as ``__main__``

The patches are installed before the program is imported, so modules that do
``from shutil import rmtree`` get the counting version too.  Mutations of child
processes (uv, ``postinstall.py``) are not counted: the kill point is always in
this process.  The process dies with ``os._exit(KILL_EXIT)``, from whichever
thread reaches mutation *k*.
"""

from __future__ import annotations

import builtins
import importlib
import io
import json
import os
import runpy
import shutil
import sys
import threading
from collections.abc import Callable
from typing import Any

KILL_EXIT = 222
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

_state = threading.local()
_lock = threading.Lock()
_count = 0
_crash_at = 0
_log: io.TextIOWrapper | None = None


def _path(path: Any, dir_fd: int | None = None) -> str:
    if isinstance(path, int):
        return f"<fd {path}>"
    text = os.fsdecode(path)
    if dir_fd is not None and not os.path.isabs(text):  # noqa: PTH117
        try:
            base = os.readlink(f"/proc/self/fd/{dir_fd}")  # noqa: PTH115 - str in, str out
        except OSError:
            base = f"<fd {dir_fd}>"
        text = os.path.join(base, text)  # noqa: PTH118
    return os.path.abspath(text)  # noqa: PTH100


def _mutation(function: str, *paths: str) -> bool:
    """Count and log one mutation; return whether the process must die at it."""
    global _count  # noqa: PLW0603 - one counter for every thread
    groups: list[int] = getattr(_state, "groups", [])
    with _lock:
        _count += 1
        k = _count
        assert _log is not None
        _log.write(json.dumps([k, function, groups[-1] if groups else None, list(paths)]) + "\n")
        _log.flush()
    _state.last = k
    return k == _crash_at


def _die() -> None:
    os._exit(KILL_EXIT)


def _before(
    function: str, real: Callable[..., Any], npaths: int = 1, *, no_op: str = ""
) -> Callable[..., Any]:
    """Wrap an atomic mutation: the process dies before it happens.

    *no_op* ``"exists"`` / ``"missing"``: a call that will only raise because its
    path already exists / is missing changes nothing, so it is not counted.
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        paths = [_path(a, kwargs.get("dir_fd", kwargs.get("src_dir_fd"))) for a in args[:npaths]]
        if no_op and os.path.lexists(paths[0]) == (no_op == "exists"):
            return real(*args, **kwargs)
        if _mutation(function, *paths):
            _die()
        return real(*args, **kwargs)

    wrapper.__wrapped__ = real  # type: ignore[attr-defined]
    return wrapper


def _composite(function: str, real: Callable[..., Any], npaths: int = 1) -> Callable[..., Any]:
    """Wrap a composite operation: counted itself, and the mutations it makes are grouped."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _mutation(function, *(_path(a) for a in args[:npaths])):
            _die()
        groups: list[int] = getattr(_state, "groups", [])
        _state.groups = [*groups, _state.last]
        try:
            return real(*args, **kwargs)
        finally:
            _state.groups = groups

    wrapper.__wrapped__ = real  # type: ignore[attr-defined]
    for name in ("avoids_symlink_attacks",):
        if hasattr(real, name):
            setattr(wrapper, name, getattr(real, name))
    return wrapper


def _patch_open() -> None:
    real_open = io.open
    real_os_open = os.open

    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        # A write opened and then killed leaves the file created and empty: a torn write.
        stream = real_open(file, mode, *args, **kwargs)
        writing = any(c in mode for c in "wax+") and not isinstance(file, int)
        if writing and _mutation("open", _path(file)):
            _die()
        return stream

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd = real_os_open(path, flags, *args, **kwargs)
        if flags & _WRITE_FLAGS and _mutation("os.open", _path(path, kwargs.get("dir_fd"))):
            _die()
        return fd

    builtins.open = open_
    io.open = open_
    os.open = os_open


def install() -> None:
    """Patch the mutating functions of ``os``, ``shutil`` and ``open``."""
    for name, npaths, no_op in (
        ("replace", 2, ""),
        ("rename", 2, ""),
        ("unlink", 1, "missing"),
        ("remove", 1, "missing"),
        ("rmdir", 1, "missing"),
        ("mkdir", 1, "exists"),
        ("link", 2, ""),
        ("chmod", 1, ""),
    ):
        setattr(os, name, _before(name, getattr(os, name), npaths, no_op=no_op))
    real_symlink = os.symlink

    def symlink(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if _mutation("symlink", _path(dst, kwargs.get("dir_fd"))):
            _die()
        real_symlink(src, dst, *args, **kwargs)

    os.symlink = symlink
    shutil.rmtree = _composite("rmtree", shutil.rmtree)  # type: ignore[assignment]
    shutil.copytree = _composite("copytree", shutil.copytree, 2)
    shutil.move = _composite("move", shutil.move, 2)
    _patch_open()


def main() -> None:
    """Read the configuration, patch, and run the program with ``sys.argv[1:]``."""
    global _crash_at, _log  # noqa: PLW0603
    log_path = os.environ.pop("VENVSTACKS_CRASH_LOG")
    _crash_at = int(os.environ.pop("VENVSTACKS_CRASH_AT", "0"))
    entry = os.environ.pop("VENVSTACKS_CRASH_ENTRY", "venvstacks.cli:main")
    _log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115, PTH123 - open for the whole run
    install()
    if entry.endswith(".py"):
        sys.argv = [entry, *sys.argv[1:]]
        sys.path[0] = os.path.dirname(os.path.abspath(entry))  # noqa: PTH100, PTH120
        runpy.run_path(entry, run_name="__main__")
        return
    del sys.path[0]  # this script's folder: nothing the program should import from
    module, _, function = entry.partition(":")
    sys.argv = [module.rsplit(".", 1)[-1], *sys.argv[1:]]
    getattr(importlib.import_module(module), function)()


if __name__ == "__main__":
    main()
