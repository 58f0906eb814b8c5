"""Resolving one layer with uv: write the synthetic project, ``uv lock``, ``uv export``."""

from __future__ import annotations

from pathlib import Path

from venvstacks.errors import LockError
from venvstacks.fs import write_text
from venvstacks.tools._subprocess import Runner, run
from venvstacks.tools.uv import uv_export_pylock, uv_lock


def render_uv_explanation(output: str) -> str:
    """Return uv's explanation of a failure, indented under our one-line message."""
    # uv's "Using CPython ... interpreter at: <path>" line is noise here.
    lines = [
        line.rstrip()
        for line in output.splitlines()
        if line.strip() and not line.startswith("Using ")
    ]
    return "\n".join(f"  {line}" for line in lines)


def resolve_layer(
    label: str, project_dir: Path, pyproject: str, python: Path, *, runner: Runner = run
) -> str:
    """Resolve the project text *pyproject* for every platform; return the exported pylock text.

    *label* names the layer in messages.  Raises `LockError` with uv's own
    explanation when resolution fails.
    """
    project_dir.mkdir(parents=True, exist_ok=True)
    write_text(project_dir / "pyproject.toml", pyproject)
    locked = uv_lock(project_dir, python, runner=runner)
    if locked.returncode != 0:
        raise LockError(
            f"{label}: uv could not resolve the layer's requirements:\n"
            + render_uv_explanation(locked.stderr or locked.stdout),
            output=locked.output,
        )
    exported_path = project_dir / "pylock.toml"
    exported = uv_export_pylock(project_dir, python, exported_path, runner=runner)
    if exported.returncode != 0:
        raise LockError(
            f"{label}: uv could not export the lock as pylock.toml:\n"
            + render_uv_explanation(exported.stderr or exported.stdout),
            output=exported.output,
        )
    return exported_path.read_text(encoding="utf-8")
