"""Shared helpers of the store tests: published releases of the small fake stack, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.deploy.stacks import APP, RUNTIME, SITE, Layers, publish


def render_app(version: str) -> str:
    """Return an application module printing *version* and exiting with its first argument."""
    return (
        "import sys, xlib\n"
        f"print('app {version}', xlib.VALUE, *sys.argv[1:])\n"
        "sys.exit(int(sys.argv[1]) if sys.argv[1:] else 0)\n"
    )


def release(root: Path, name: str, *, app: str = "", runtime: bool = False) -> Path:
    """Publish the fake stack into ``root/name/artifacts``.

    *app* replaces the application module by one printing ``app <app>``;
    *runtime* adds a file to the runtime layer (a runtime update).
    """

    def change(layers: Layers) -> None:
        if app:
            (layers[APP] / SITE / "x_app.py").write_text(render_app(app), encoding="utf-8")
        if runtime:
            (layers[RUNTIME] / "lib" / "NEWS.txt").write_text("update\n", encoding="utf-8")

    return publish(root / name, "tar.gz", change=change)


def venvstacks(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "venvstacks", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def store_ok(store: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``venvstacks store <args> --store STORE``, which must succeed."""
    command, *rest = args
    proc = venvstacks("store", command, "--store", store, *rest)
    assert proc.returncode == 0, proc.stderr
    return proc


def store_json(store: Path, *args: str | Path) -> Any:
    """Run a store command with ``--json`` and return the parsed output."""
    return json.loads(store_ok(store, *args, "--json").stdout)


def run_app(python: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the fake stack's app with *python* (``python -m x_app ARGS``)."""
    return subprocess.run(
        [str(python), "-m", "x_app", *args], capture_output=True, text=True, check=False
    )
