"""The deployed layer config, ``share/venv/metadata/venvstacks_layer.json`` (pure).

Paths are relative to the layer folder and written with the host's separator,
as venvstacks 0.8 does (Windows configs contain backslashes).
"""

from __future__ import annotations

import sys
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
