"""Building a runtime layer: install the base runtime, clean it, add the layer files.

The layer is assembled in a staging folder beside its build folder and swapped
in only when complete, so a failed build leaves the previous build usable.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from venvstacks._injected.postinstall import LAYER_CONFIG_PATH, render_layer_config
from venvstacks.builder.bytecode import compile_layer
from venvstacks.builder.cleanup import remove_installer_caches, remove_scripts
from venvstacks.builder.layer_config import compute_runtime_config, compute_site_dir
from venvstacks.builder.portability import find_build_paths
from venvstacks.builder.stamp import install_layer
from venvstacks.cache import BYTECODE_FOLDER, RUNTIMES_FOLDER
from venvstacks.errors import BuildError, ToolError
from venvstacks.fs import compute_staging_path, remove_tree, write_text
from venvstacks.runtimes.install import RuntimeSource, compute_runtime_python, install_runtime
from venvstacks.runtimes.requests import parse_runtime_request
from venvstacks.spec.graph import Layer
from venvstacks.spec.naming import LayerKind
from venvstacks.tools._subprocess import Runner, run
from venvstacks.tools.uv import uv_pip_install_pylock, uv_pip_uninstall

# Installers that python-build-standalone bundles; layers install with uv instead.
BUNDLED_INSTALLERS = ("pip", "setuptools", "wheel")
POSTINSTALL_NAME = "postinstall.py"


@dataclass(frozen=True)
class BuiltRuntime:
    """A runtime layer built into its build folder."""

    layer: Layer
    path: Path
    py_version: str

    @property
    def python(self) -> Path:
        """The layer's interpreter."""
        return self.path / compute_runtime_python()


def render_postinstall_script() -> str:
    """Return the ``postinstall.py`` placed at each layer's root (the module's own source)."""
    return files("venvstacks._injected").joinpath(POSTINSTALL_NAME).read_text(encoding="utf-8")


def _bundled_installers(site_packages: Path) -> list[str]:
    if not site_packages.is_dir():
        return []
    installed = {p.name.split("-", 1)[0].lower() for p in site_packages.glob("*.dist-info")}
    return [name for name in BUNDLED_INSTALLERS if name in installed]


def write_layer_files(layer_dir: Path, config: dict[str, object]) -> None:
    """Write the deployed layer config and ``postinstall.py`` into *layer_dir*."""
    write_text(layer_dir / LAYER_CONFIG_PATH, render_layer_config(config))
    write_text(layer_dir / POSTINSTALL_NAME, render_postinstall_script())


def check_portability(layer: Layer, layer_dir: Path, build_paths: list[Path]) -> None:
    """Fail if the built layer mentions a build-machine path."""
    found = find_build_paths(layer_dir, build_paths)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")  # noqa: PLR2004
        raise BuildError(
            f"{layer.build_name}: the built layer contains absolute paths of the build folder "
            f"({shown}); it would break once deployed elsewhere"
        )


def build_runtime_layer(
    layer: Layer,
    build_dir: Path,
    source: RuntimeSource,
    *,
    pylock: Path | None = None,
    python_platform: str = "",
    base_only: bool = False,
    stamp_inputs: Mapping[str, object] | None = None,
    cache: Path | None = None,
    runner: Runner = run,
) -> BuiltRuntime:
    """Build the runtime *layer* into ``<build_dir>/<build name>``.

    The layer's own packages are installed from *pylock* for *python_platform*.
    With *base_only*, they are left out (and the folder gets no bytecode): locking
    needs only the interpreter.  The folder is stamped with *stamp_inputs* as it
    is swapped in (see `venvstacks.builder.stamp.install_layer`).  *cache* is the
    venvstacks cache folder (None: no cache): extracted runtimes and bytecode come
    from it when they can.
    """
    if layer.kind is not LayerKind.RUNTIME:
        raise ValueError(f"{layer.build_name} is not a runtime layer")
    if layer.requirements and not base_only and pylock is None:
        raise BuildError(
            f"{layer.build_name}: requirements: installing a runtime layer's own packages needs "
            "its lock; run 'venvstacks lock' first"
        )
    build_dir = build_dir.absolute()
    final = build_dir / layer.build_name
    staging = compute_staging_path(final)
    remove_tree(staging)
    try:
        installed = install_runtime(
            parse_runtime_request(layer.python_implementation),
            staging,
            source,
            label=layer.build_name,
            cache=None if cache is None else cache / RUNTIMES_FOLDER,
            runner=runner,
        )
        site_packages = staging / compute_site_dir(installed.version)
        bundled = _bundled_installers(site_packages)
        if bundled:
            uv_pip_uninstall(installed.python, bundled, label=layer.build_name, runner=runner)
        if not base_only:
            if pylock is not None and layer.requirements:
                try:
                    uv_pip_install_pylock(
                        installed.python,
                        pylock,
                        python_platform,
                        label=layer.build_name,
                        runner=runner,
                    )
                except ToolError as exc:
                    raise BuildError(str(exc), output=exc.output) from exc
            remove_scripts(staging, compute_site_dir(installed.version))
            remove_installer_caches(staging, compute_site_dir(installed.version))
            compile_layer(
                installed.python,
                staging,
                [staging / "lib"],
                prefix=layer.build_name,
                cache=None if cache is None else cache / BYTECODE_FOLDER,
                runner=runner,
            )
        write_layer_files(staging, compute_runtime_config(installed.version, sys.platform))
        check_portability(layer, staging, [build_dir, build_dir.resolve()])
        install_layer(staging, final, None if base_only else stamp_inputs)
    finally:
        remove_tree(staging)
    return BuiltRuntime(layer, final, installed.version)
