"""Creating the virtual environment of a framework or application layer.

The environment is made by the runtime's own ``venv`` module without pip.  On
Linux and macOS its interpreter is a *relative* symlink to the runtime layer's
(``bin/python -> ../../<runtime>/bin/python``), so the link stays valid when the
layers are unpacked side by side elsewhere.  Activation scripts are removed:
layers are run with ``python -m``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from venvstacks.errors import BuildError, ToolError
from venvstacks.tools._subprocess import Runner, run


def compute_venv_python(platform: str = sys.platform) -> Path:
    """Return the interpreter of a layered environment, relative to the layer folder."""
    return Path("Scripts", "python.exe") if platform == "win32" else Path("bin", "python")


def create_layer_venv(
    layer_dir: Path, runtime_python: Path, *, label: str, runner: Runner = run
) -> None:
    """Create the environment at *layer_dir* on the runtime interpreter *runtime_python*."""
    link_mode = "--copies" if sys.platform == "win32" else "--symlinks"
    try:
        runner(
            [
                runtime_python,
                "-X",
                "utf8",
                "-I",
                "-B",
                "-m",
                "venv",
                "--without-pip",
                link_mode,
                layer_dir,
            ],
            failure=f"{label}: could not create the layer's virtual environment",
        )
    except ToolError as exc:
        raise BuildError(str(exc), output=exc.output) from exc
    scripts = layer_dir / ("Scripts" if sys.platform == "win32" else "bin")
    for entry in scripts.iterdir():
        if not entry.name.startswith("python"):
            entry.unlink()
    if sys.platform != "win32":
        link = scripts / "python"
        target = os.path.relpath(runtime_python, scripts)
        link.unlink()
        link.symlink_to(target)
