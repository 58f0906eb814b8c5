"""``venvstacks sizes``: measure the built layers of a stack and put the report together."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from venvstacks.builder.stack import compute_host_platform
from venvstacks.errors import SizesError
from venvstacks.lock.status import LayerLockStatus, compute_stack_lock_status
from venvstacks.publish.content import load_layer_config
from venvstacks.publish.sbom import compute_layer_sbom
from venvstacks.sizes.compute import (
    compute_dependents,
    compute_layer_sizes,
    compute_reasons,
    estimate_exclusion,
    find_identical_files,
    find_shadowed,
)
from venvstacks.sizes.measure import MeasuredLayer, measure_layer
from venvstacks.sizes.model import LayerSizes, ShadowedPackage, StackSizes
from venvstacks.sizes.publication import (
    compare_publications,
    compute_archive_sizes,
    load_published_layers,
)
from venvstacks.spec.graph import Layer, LayerGraph
from venvstacks.spec.load import StackSpec
from venvstacks.spec.naming import BuildName, LayerKind, compute_deployed_name


def _app_modules(layer: Layer) -> tuple[str, ...]:
    return tuple(
        path.stem for path in (layer.launch_module, *layer.support_modules) if path is not None
    )


def _sbom(status: LayerLockStatus | None, layer_dir: Path) -> str | None:
    """Return the SBOM publish would add to the layer (None without a valid lock)."""
    if status is None or not status.validity.is_valid:
        return None
    py_version = load_layer_config(layer_dir)["py_version"]
    return compute_layer_sbom(status, compute_host_platform(), py_version)


def _measure(
    layers: Sequence[Layer], build_dir: Path, locks: Mapping[BuildName, LayerLockStatus]
) -> dict[str, MeasuredLayer]:
    missing = [layer.build_name for layer in layers if not (build_dir / layer.build_name).is_dir()]
    if missing:
        raise SizesError(
            f"{', '.join(missing)}: not built in {build_dir}; run 'venvstacks build' first "
            "(or pass --build-dir)"
        )
    measured: dict[str, MeasuredLayer] = {}
    for layer in layers:
        folder = build_dir / layer.build_name
        try:
            measured[layer.build_name] = measure_layer(
                folder,
                app_modules=_app_modules(layer),
                sbom=_sbom(locks.get(layer.build_name), folder),
            )
        except (OSError, ValueError, KeyError) as exc:
            raise SizesError(
                f"{layer.build_name}: can't read the built layer in {folder} ({exc}); "
                f"build it again with 'venvstacks build --include {layer.build_name} --clean'"
            ) from None
    return measured


def _shadowed(graph: LayerGraph, layers: dict[str, LayerSizes]) -> list[ShadowedPackage]:
    found: list[ShadowedPackage] = []
    for layer in graph:
        if layer.kind is LayerKind.APPLICATION and layer.build_name in layers:
            chain = [layer.build_name, *(d.build_name for d in graph.dependencies(layer))]
            found += find_shadowed(layer.build_name, chain, layers)
    return found


def compute_stack_sizes(
    spec: StackSpec,
    layers: Sequence[Layer],
    *,
    build_dir: Path,
    output_dir: Path,
    compare: Path | None = None,
    what_if_excluded: Sequence[str] = (),
) -> StackSizes:
    """Measure the built *layers* of *spec* (and their archives in *output_dir*).

    With *compare* (an earlier publication's output folder), also report what
    updating from it downloads; with *what_if_excluded*, what leaving each of
    those packages out would save.
    """
    locks = compute_stack_lock_status(spec)
    measured = _measure(layers, build_dir, locks)
    published = load_published_layers(output_dir)
    graph = spec.graph
    sizes: dict[str, LayerSizes] = {}
    all_dependents = compute_dependents(measured.items())
    for layer in layers:
        name = layer.build_name
        above = [name, *(d.build_name for d in graph.derived(layer))]
        dependents = compute_dependents((n, measured[n]) for n in above if n in measured)
        requirements = [
            (upper.build_name, str(req))
            for upper in (layer, *graph.derived(layer))
            for req in upper.requirements
        ]
        reasons = {
            dist: compute_reasons(dist, name, requirements, dependents)
            for dist in measured[name].distributions
        }
        lock = locks.get(name)
        install_target = (
            lock.deployed_name
            if lock is not None
            else compute_deployed_name(name, versioned=layer.versioned, lock_version=None)
        )
        kind = layer.kind.value.removesuffix("s")
        row = compute_layer_sizes(name, install_target, kind, measured[name], reasons)
        sizes[name] = dataclasses.replace(
            row, archives=compute_archive_sizes(published.get(name, []))
        )
    comparison = None
    if compare is not None:
        if not compare.is_dir():
            raise SizesError(
                f"{compare}: no such folder (--compare needs an earlier output folder)"
            )
        comparison = compare_publications(
            sizes, published, load_published_layers(compare), compare, output_dir
        )
    return StackSizes(
        layers=tuple(sizes.values()),
        shadowed=tuple(_shadowed(graph, sizes)),
        identical=find_identical_files(measured.items()),
        comparison=comparison,
        exclusions=tuple(
            estimate_exclusion(name, tuple(sizes.values()), all_dependents)
            for name in what_if_excluded
        ),
    )
