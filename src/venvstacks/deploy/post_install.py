"""Finishing an unpacked layer with its own ``postinstall.py``, and launching apps.

The documented procedure (reference §7.3): for each layer, runtime first, read
``share/venv/metadata/venvstacks_layer.json``, resolve ``base_python`` against
the layer folder and run ``<base_python> -X utf8 -I <layer>/postinstall.py``.
An application is then launched as ``<layer>/<python> -m <launch_module>``.

Deploy finishes each layer while it is still in the staging folder, telling
its ``postinstall.py`` where the layer will run from (``--deployed-at``), so a
layer only becomes visible once it is complete.  A layer whose script predates
that option (published by venvstacks 0.8 or an earlier version of this one) is
finished after it is moved into place, the way the documented procedure does.

The layer config is read with the same loader ``postinstall.py`` uses
(`venvstacks._injected.postinstall`), so its paths are resolved, and refused
when they point outside the deployment folder, exactly as they will be at
deploy time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from venvstacks._injected.postinstall import (
    DEPLOYED_AT_OPTION,
    LayerConfigError,
    load_layer_config,
)
from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.errors import DeployError, ToolError
from venvstacks.tools._subprocess import Runner, run

SCRIPT_NAME = "postinstall.py"


def load_config(name: str, layer_dir: Path, deployed_at: Path | None = None) -> dict[str, Any]:
    """Read the config of the layer *name* unpacked at *layer_dir*, paths resolved for *deployed_at*."""
    try:
        return load_layer_config(layer_dir, deployed_at)
    except (LayerConfigError, KeyError, TypeError) as exc:
        detail = exc if isinstance(exc, LayerConfigError) else f"missing or invalid key {exc}"
        raise DeployError(f"{name}: {detail}; publish the layer again") from None


def check_unpacked(layer: ManifestLayer, layer_dir: Path) -> None:
    """Check that an unpacked layer can be post-installed (before anything is replaced)."""
    load_config(layer.install_target, layer_dir)
    if not (layer_dir / SCRIPT_NAME).is_file():
        raise DeployError(
            f"{layer.install_target}: archive {layer.archive_name} has no {SCRIPT_NAME}; "
            "publish the layer again"
        )


def supports_deployed_at(layer_dir: Path) -> bool:
    """Whether the layer's ``postinstall.py`` can finish it for another folder (``--deployed-at``)."""
    try:
        script = (layer_dir / SCRIPT_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    # The script's own definition of the option, not a mention in a comment.
    return f'DEPLOYED_AT_OPTION = "{DEPLOYED_AT_OPTION}"' in script


def run_postinstall(
    name: str,
    layer_dir: Path,
    *,
    deployed_at: Path | None = None,
    runner: Runner = run,
) -> None:
    """Run the ``postinstall.py`` of the layer *name* at *layer_dir* with its base Python.

    With *deployed_at* the layer is finished for running from that folder (it
    must support `DEPLOYED_AT_OPTION`).  The base Python is taken from beside
    *layer_dir* when the runtime is there too (deployed in the same run), else
    from beside *deployed_at* (a runtime deployed earlier).
    """
    base_python = load_config(name, layer_dir)["base_python"]
    if deployed_at is not None and not base_python.exists():
        base_python = load_config(name, layer_dir, deployed_at)["base_python"]
    args: list[str | Path] = [base_python, "-X", "utf8", "-I", (layer_dir / SCRIPT_NAME).absolute()]
    if deployed_at is not None:
        args += [DEPLOYED_AT_OPTION, deployed_at]
    try:
        result = runner(args, cwd=layer_dir, check=False)
    except ToolError as exc:  # the interpreter could not be started at all
        raise DeployError(f"{name}: {SCRIPT_NAME} can't be run ({exc})") from None
    if result.returncode != 0:
        lines = [line for line in result.output.splitlines() if line.strip()]
        last = f": {lines[-1].strip()}" if lines else ""
        raise DeployError(
            f"{name}: {SCRIPT_NAME} failed with exit code {result.returncode}{last}",
            output=result.output,
        )


def compute_launch_command(layer: ManifestLayer, layer_dir: Path) -> tuple[str, ...]:
    """``(<layer>/<python>, "-m", <launch module>)`` for an application layer."""
    config = load_config(layer.install_target, layer_dir)
    module = config.get("launch_module") or layer.launch_module
    if not module:
        raise DeployError(f"{layer.install_target}: no launch module; publish the layer again")
    return (str(config["python"]), "-m", str(module))
