"""Building the selected layers of a stack, runtimes first, skipping unchanged ones.

Layers of one dependency wave are built in parallel threads (each build spends
its time in subprocesses: uv, the layer's interpreter compiling bytecode and
checking imports), so one layer's import check runs while others install.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from venvstacks import __version__
from venvstacks.builder.layered import LayeredBuild, LowerLayer, build_layered_layer
from venvstacks.builder.runtime import build_runtime_layer
from venvstacks.builder.stamp import is_up_to_date
from venvstacks.errors import BuildError, VenvStacksError
from venvstacks.lock.locker import compute_lock_waves
from venvstacks.lock.markers import compute_uv_python_platform
from venvstacks.lock.status import LayerLockStatus, compute_linux_target
from venvstacks.runtimes.install import RuntimeSource
from venvstacks.spec.graph import Layer
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

    def layer_failed(self, build_name: BuildName) -> None:
        """Report that a layer's build failed (the error is raised once its wave ends)."""


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
    cache: Path | None = None,
) -> tuple[BuiltLayer, ...]:
    """Build the *selected* layers, lowest first; return them in definition order.

    Every selected layer needs a valid lock.  A layer whose inputs match its
    build stamp is left alone unless it is in *clean*.  Layers that do not
    target this machine's platform are skipped.  The layers of one dependency
    wave (see `compute_lock_waves`) are built in parallel; when some of them
    fail, the others of the wave still finish, every failure is reported
    together and no layer above them is built.  *cache* is the venvstacks cache
    folder (None: no cache).
    """
    host = compute_host_platform()
    invalid = [name for name in sorted(selected) if not statuses[name].validity.is_valid]
    if invalid:
        raise BuildError(
            f"{', '.join(invalid)}: the lock is missing or out of date; run 'venvstacks lock' "
            "first (or pass --lock-if-needed)"
        )
    order = {layer.build_name: index for index, layer in enumerate(spec.graph)}
    built: list[BuiltLayer] = []
    for wave in compute_lock_waves(spec):
        todo = [layer for layer in wave if layer.build_name in selected and host in layer.platforms]
        if not todo:
            continue
        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            futures: dict[Future[BuiltLayer], Layer] = {}
            for layer in todo:
                if reporter is not None:
                    reporter.layer_started(layer.build_name)
                job = _LayerJob(spec, statuses, layer, host, build_dir, source, cache)
                futures[pool.submit(job.run, layer.build_name in clean)] = layer
            failures: list[tuple[Layer, BaseException]] = []
            for future in as_completed(futures):
                error = future.exception()
                if error is not None:
                    failures.append((futures[future], error))
                    if reporter is not None:
                        reporter.layer_failed(futures[future].build_name)
                    continue
                built.append(future.result())
                if reporter is not None:
                    reporter.layer_finished(built[-1])
        if failures:
            raise _combine(sorted(failures, key=lambda f: order[f[0].build_name]))
    return tuple(sorted(built, key=lambda b: order[b.build_name]))


def _combine(failures: list[tuple[Layer, BaseException]]) -> BaseException:
    if len(failures) == 1:
        return failures[0][1]
    if not all(isinstance(error, VenvStacksError) for _, error in failures):
        return next(e for _, e in failures if not isinstance(e, VenvStacksError))
    messages = [str(error) for _, error in failures]
    outputs = [error.output for _, error in failures if isinstance(error, VenvStacksError)]
    return BuildError("\n".join(messages), output="\n".join(o for o in outputs if o))


@dataclass(frozen=True)
class _LayerJob:
    """Builds one layer (or finds it up to date); runs in a worker thread."""

    spec: StackSpec
    statuses: Mapping[BuildName, LayerLockStatus]
    layer: Layer
    host: TargetPlatform
    build_dir: Path
    source: RuntimeSource
    cache: Path | None

    def run(self, clean: bool) -> BuiltLayer:
        layer, build_dir = self.layer, self.build_dir
        status = self.statuses[layer.build_name]
        python_platform = compute_uv_python_platform(
            self.host, parse_linux_target(compute_linux_target(layer))
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
        lower = [self.statuses[dep.build_name] for dep in self.spec.graph.dependencies(layer)]
        if layer.runtime is not None:
            inputs["runtime_version"] = _runtime_version(build_dir / lower[-1].layer.build_name)
            inputs["lower_layers"] = [low.deployed_name for low in lower]
        if not clean and is_up_to_date(build_dir, layer.build_name, inputs):
            return BuiltLayer(layer.build_name, folder, rebuilt=False)
        if layer.runtime is None:
            build_runtime_layer(
                layer,
                build_dir,
                self.source,
                pylock=status.paths.pylock,
                python_platform=python_platform,
                stamp_inputs=inputs,
                cache=self.cache,
            )
        else:
            runtime = lower[-1]
            build_layered_layer(
                LayeredBuild(
                    layer=layer,
                    spec_dir=self.spec.spec_dir,
                    build_dir=build_dir,
                    py_version=_runtime_version(build_dir / runtime.layer.build_name),
                    pylock=status.paths.pylock,
                    python_platform=python_platform,
                    runtime=_lower(runtime, build_dir),
                    frameworks=tuple(_lower(low, build_dir) for low in lower[:-1]),
                    stamp_inputs=inputs,
                    cache=self.cache,
                )
            )
        return BuiltLayer(layer.build_name, folder, rebuilt=True)


def _lower(status: LayerLockStatus, build_dir: Path) -> LowerLayer:
    return LowerLayer(status.layer, build_dir / status.layer.build_name, status.deployed_name)
