"""The deployed layer config, ``share/venv/metadata/venvstacks_layer.json`` (pure).

Paths are relative to the layer folder and written with the host's separator,
as venvstacks 0.8 does (Windows configs contain backslashes).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def compute_site_dir(py_version: str, platform: str = sys.platform) -> Path:
    """``lib/pythonX.Y/site-packages`` (``Lib/site-packages`` on Windows)."""
    if platform == "win32":
        return Path("Lib", "site-packages")
    short = ".".join(py_version.split(".")[:2])
    return Path("lib", f"python{short}", "site-packages")


def compute_runtime_config(py_version: str, platform: str = sys.platform) -> dict[str, Any]:
    """Return the config of a runtime layer (its interpreter is its own base interpreter)."""
    python = str(Path("python.exe") if platform == "win32" else Path("bin", "python"))
    return {
        "python": python,
        "py_version": py_version,
        "base_python": python,
        "site_dir": str(compute_site_dir(py_version, platform)),
        "pylib_dirs": [],
        "dynlib_dirs": [],
    }


def compute_layered_config(
    py_version: str,
    runtime: str,
    frameworks: Sequence[str],
    *,
    launch_module: str | None = None,
    platform: str = sys.platform,
) -> dict[str, Any]:
    """Return the config of a framework or application layer.

    *runtime* and *frameworks* are the deployed folder names of the layers below,
    frameworks in ``sys.path`` order (the runtime comes last in the path lists).
    """
    windows = platform == "win32"
    site_dir = compute_site_dir(py_version, platform)
    runtime_python = Path("python.exe") if windows else Path("bin", "python")
    dynlib = Path("Library", "bin") if windows else Path("share", "venv", "dynlib")
    below = [*frameworks, runtime]
    config: dict[str, Any] = {
        "python": str(Path("Scripts", "python.exe") if windows else Path("bin", "python")),
        "py_version": py_version,
        "base_python": str(Path("..", runtime) / runtime_python),
        "site_dir": str(site_dir),
        "pylib_dirs": [str(Path("..", name) / site_dir) for name in below],
        "dynlib_dirs": [str(Path("..", name) / dynlib) for name in below],
    }
    if launch_module is not None:
        config["launch_module"] = launch_module
    return config
