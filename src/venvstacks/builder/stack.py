"""Building the selected layers of a stack, runtimes first, skipping unchanged ones."""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from venvstacks import __version__
from venvstacks.builder.layered import LayeredBuild, LowerLayer, build_layered_layer
from venvstacks.builder.runtime import build_runtime_layer
from venvstacks.builder.stamp import is_up_to_date
from venvstacks.errors import BuildError
from venvstacks.lock.markers import compute_uv_python_platform
from venvstacks.lock.status import LayerLockStatus, compute_linux_target
from venvstacks.runtimes.install import RuntimeSource
from venvstacks.spec.load import StackSpec
from venvstacks.spec.naming import BuildName
from venvstacks.spec.platforms import (
    ALL_PLATFORMS,
    TargetPlatform,
    parse_linux_target,
    render_platform_list,
)

_MACHINES = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
_HOSTS = {
    ("linux", "x86_64"): TargetPlatform.LINUX_X86_64,
    ("linux", "aarch64"): TargetPlatform.LINUX_AARCH64,
    ("darwin", "aarch64"): TargetPlatform.MACOSX_ARM64,
    ("darwin", "x86_64"): TargetPlatform.MACOSX_X86_64,
    ("win32", "x86_64"): TargetPlatform.WIN_AMD64,
    ("win32", "aarch64"): TargetPlatform.WIN_ARM64,
}


def compute_host_platform(
    system: str = sys.platform, machine: str = platform.machine()
) -> TargetPlatform:
    """Return the target platform of the machine venvstacks runs on (*system* is a `sys.platform`)."""
    host = _HOSTS.get((system, _MACHINES.get(machine.lower(), machine.lower())))
    if host is None:
        raise BuildError(
            f"can't build layers on this machine ({system} {machine}); "
            f"layers are built only on {render_platform_list(ALL_PLATFORMS)}"
        )
    return host


class BuildReporter(Protocol):
    """Receives progress events while layers are built (the CLI renders them)."""

    def layer_started(self, build_name: BuildName) -> None:
        """Report that a layer's build (or up-to-date check) begins."""

    def layer_finished(self, layer: BuiltLayer) -> None:
        """Report that a layer is built, or was found up to date."""


@dataclass(frozen=True)
class BuiltLayer:
    """A layer after ``build``: its folder, and whether it was (re)built in this run."""

    build_name: BuildName
    path: Path
    rebuilt: bool


def _runtime_version(runtime_dir: Path) -> str:
    config = runtime_dir / "share" / "venv" / "metadata" / "venvstacks_layer.json"
    return str(json.loads(config.read_text(encoding="utf-8"))["py_version"])


def build_layers(
    spec: StackSpec,
    statuses: Mapping[BuildName, LayerLockStatus],
    selected: Collection[BuildName],
    *,
    build_dir: Path,
    source: RuntimeSource,
    clean: Collection[BuildName] = (),
    reporter: BuildReporter | None = None,
) -> tuple[BuiltLayer, ...]:
    """Build the *selected* layers in definition order.

    Every selected layer needs a valid lock.  A layer whose inputs match its
    build stamp is left alone unless it is in *clean*.  Layers that do not
    target this machine's platform are skipped.
    """
    host = compute_host_platform()
    invalid = [name for name in sorted(selected) if not statuses[name].validity.is_valid]
    if invalid:
        raise BuildError(
            f"{', '.join(invalid)}: the lock is missing or out of date; run 'venvstacks lock' "
            "first (or pass --lock-if-needed)"
        )
    built: list[BuiltLayer] = []
    for layer in spec.graph:
        if layer.build_name not in selected or host not in layer.platforms:
            continue
        if reporter is not None:
            reporter.layer_started(layer.build_name)
        status = statuses[layer.build_name]
        python_platform = compute_uv_python_platform(
            host, parse_linux_target(compute_linux_target(layer))
        )
        inputs: dict[str, object] = {
            "venvstacks": __version__,
            "python_implementation": layer.python_implementation,
            "python_platform": python_platform,
            "requirements_hash": status.inputs.requirements_hash,
            "version_inputs_hash": status.inputs.version_inputs_hash,
            "deployment_inputs_hash": status.inputs.deployment_inputs_hash,
            "dynlib_exclude": list(layer.dynlib_exclude),
        }
        folder = build_dir / layer.build_name
        lower = [statuses[dep.build_name] for dep in spec.graph.dependencies(layer)]
        if layer.runtime is not None:
            inputs["runtime_version"] = _runtime_version(build_dir / lower[-1].layer.build_name)
            inputs["lower_layers"] = [low.deployed_name for low in lower]
        if layer.build_name not in clean and is_up_to_date(build_dir, layer.build_name, inputs):
            built.append(BuiltLayer(layer.build_name, folder, rebuilt=False))
            if reporter is not None:
                reporter.layer_finished(built[-1])
            continue
        if layer.runtime is None:
            build_runtime_layer(
                layer,
                build_dir,
                source,
                pylock=status.paths.pylock,
                python_platform=python_platform,
                stamp_inputs=inputs,
            )
        else:
            runtime = lower[-1]
            build_layered_layer(
                LayeredBuild(
                    layer=layer,
                    spec_dir=spec.spec_dir,
                    build_dir=build_dir,
                    py_version=_runtime_version(build_dir / runtime.layer.build_name),
                    pylock=status.paths.pylock,
                    python_platform=python_platform,
                    runtime=_lower(runtime, build_dir),
                    frameworks=tuple(_lower(low, build_dir) for low in lower[:-1]),
                    stamp_inputs=inputs,
                )
            )
        built.append(BuiltLayer(layer.build_name, folder, rebuilt=True))
        if reporter is not None:
            reporter.layer_finished(built[-1])
    return tuple(built)


def _lower(status: LayerLockStatus, build_dir: Path) -> LowerLayer:
    return LowerLayer(status.layer, build_dir / status.layer.build_name, status.deployed_name)
