"""Finishing an unpacked layer with its own ``postinstall.py``, and launching apps.

The documented procedure (reference §7.3): for each layer, runtime first, read
``share/venv/metadata/venvstacks_layer.json``, resolve ``base_python`` against
the layer folder and run ``<base_python> -X utf8 -I <layer>/postinstall.py``.
An application is then launched as ``<layer>/<python> -m <launch_module>``.

The layer config is read with the same loader ``postinstall.py`` uses
(`venvstacks._injected.postinstall`), so its paths are resolved, and refused
when they point outside the deployment folder, exactly as they will be at
deploy time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from venvstacks._injected.postinstall import LayerConfigError, load_layer_config
from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.errors import DeployError, ToolError
from venvstacks.tools._subprocess import Runner, run

SCRIPT_NAME = "postinstall.py"


def load_config(layer: ManifestLayer, layer_dir: Path) -> dict[str, Any]:
    """Read the unpacked layer's config, paths resolved against *layer_dir*."""
    try:
        return load_layer_config(layer_dir)
    except (LayerConfigError, KeyError, TypeError) as exc:
        detail = exc if isinstance(exc, LayerConfigError) else f"missing or invalid key {exc}"
        raise DeployError(f"{layer.install_target}: {detail}; publish the layer again") from None


def check_unpacked(layer: ManifestLayer, layer_dir: Path) -> None:
    """Check that an unpacked layer can be post-installed (before anything is replaced)."""
    load_config(layer, layer_dir)
    if not (layer_dir / SCRIPT_NAME).is_file():
        raise DeployError(
            f"{layer.install_target}: archive {layer.archive_name} has no {SCRIPT_NAME}; "
            "publish the layer again"
        )


def run_postinstall(layer: ManifestLayer, layer_dir: Path, *, runner: Runner = run) -> None:
    """Run the layer's ``postinstall.py`` with its base Python, in the layer folder."""
    base_python = load_config(layer, layer_dir)["base_python"]
    args = [base_python, "-X", "utf8", "-I", (layer_dir / SCRIPT_NAME).absolute()]
    try:
        result = runner(args, cwd=layer_dir, check=False)
    except ToolError as exc:  # the interpreter could not be started at all
        raise DeployError(f"{layer.install_target}: {SCRIPT_NAME} can't be run ({exc})") from None
    if result.returncode != 0:
        lines = [line for line in result.output.splitlines() if line.strip()]
        last = f": {lines[-1].strip()}" if lines else ""
        raise DeployError(
            f"{layer.install_target}: {SCRIPT_NAME} failed with exit code {result.returncode}{last}",
            output=result.output,
        )


def compute_launch_command(layer: ManifestLayer, layer_dir: Path) -> tuple[str, ...]:
    """``(<layer>/<python>, "-m", <launch module>)`` for an application layer."""
    config = load_config(layer, layer_dir)
    module = config.get("launch_module") or layer.launch_module
    if not module:
        raise DeployError(f"{layer.install_target}: no launch module; publish the layer again")
    return (str(config["python"]), "-m", str(module))
