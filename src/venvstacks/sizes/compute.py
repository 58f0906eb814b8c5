"""From measured layers to the report's tables: per package, shadowed packages, identical files.

"Why it is there" comes from the spec's requirements of the layer (the lock's
input, ``requirements-<layer>.in``) and from the ``Requires-Dist`` metadata of
the distributions installed in the layer and in the layers that run on it.
uv's ``pylock.toml`` lists packages without their dependency edges, and the
installed metadata is what the build really installed, offline; markers are
evaluated for this machine, and dependencies only an extra asks for are not
followed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from venvstacks.sizes.measure import SPECIAL_OWNERS, Distribution, MeasuredLayer
from venvstacks.sizes.model import (
    ExclusionEstimate,
    IdenticalFile,
    LayerSizes,
    PackageSizes,
    ShadowedPackage,
)

LARGEST_FILES = 5


def compute_dependencies(dist: Distribution) -> frozenset[str]:
    """Return the canonical names *dist* requires on this machine (no extras)."""
    names: set[str] = set()
    for line in dist.requires:
        try:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
        except (InvalidRequirement, UndefinedEnvironmentName):
            continue
        names.add(canonicalize_name(req.name))
    return frozenset(names)


def compute_reasons(
    name: str,
    layer: str,
    requirements: Iterable[tuple[str, str]],
    dependents: Mapping[str, Sequence[tuple[str, str]]],
) -> tuple[str, ...]:
    """Say why *name* is installed in *layer*: a requirement naming it, then what requires it.

    *requirements* are (layer, requirement) pairs and *dependents* maps a package
    to the (layer, package) pairs that require it, both from the layer itself
    and the layers that run on it.
    """
    reasons = [
        f"requirement {req!r}" if where == layer else f"requirement {req!r} ({where})"
        for where, req in requirements
        if _req_name(req) == name
    ]
    reasons += [
        f"required by {pkg}" if where == layer else f"required by {pkg} ({where})"
        for where, pkg in dependents.get(name, ())
    ]
    return tuple(reasons) or ("not required by anything installed",)


def _req_name(text: str) -> str:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return ""


def compute_dependents(
    layers: Iterable[tuple[str, MeasuredLayer]],
) -> dict[str, list[tuple[str, str]]]:
    """Map each package name to the (layer, package) pairs in *layers* that require it."""
    dependents: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for layer, measured in layers:
        for dist in measured.distributions.values():
            for dep in sorted(compute_dependencies(dist)):
                dependents[dep].append((layer, dist.name))
    return dependents


def compute_package_sizes(
    measured: MeasuredLayer, reasons: Mapping[str, tuple[str, ...]]
) -> tuple[PackageSizes, ...]:
    """Return one row per owner of the layer's files, largest first (ties by name)."""
    by_owner: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for file in measured.files:
        by_owner[file.owner].append((file.path, file.size))
    rows = []
    for owner, files in by_owner.items():
        dist = measured.distributions.get(owner)
        largest = sorted(files, key=lambda f: (-f[1], f[0]))[:LARGEST_FILES]
        rows.append(
            PackageSizes(
                name=owner,
                version=dist.version if dist is not None else "",
                bytes=sum(size for _, size in files),
                files=len(files),
                largest=tuple(largest),
                reasons=() if owner in SPECIAL_OWNERS else reasons.get(owner, ()),
            )
        )
    return tuple(sorted(rows, key=lambda r: (-r.bytes, r.name)))


def compute_layer_sizes(
    build_name: str,
    install_target: str,
    kind: str,
    measured: MeasuredLayer,
    reasons: Mapping[str, tuple[str, ...]],
) -> LayerSizes:
    """Summarise one measured layer (archives are added by the caller)."""
    return LayerSizes(
        build_name=build_name,
        install_target=install_target,
        kind=kind,
        unpacked_bytes=sum(f.size for f in measured.files),
        file_count=len(measured.files),
        bytecode_bytes=sum(f.size for f in measured.files if f.path.endswith(".pyc")),
        archives=(),
        packages=compute_package_sizes(measured, reasons),
    )


def find_shadowed(
    application: str, chain: Sequence[str], layers: Mapping[str, LayerSizes]
) -> list[ShadowedPackage]:
    """Return packages installed in more than one layer of *chain* (``sys.path`` order)."""
    where: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for layer in chain:
        if layer not in layers:
            continue
        for row in layers[layer].packages:
            if row.name not in SPECIAL_OWNERS:
                where[row.name].append((layer, row.version, row.bytes))
    return [
        ShadowedPackage(
            application=application,
            package=name,
            used_in=(found[0][0], found[0][1]),
            shadowed_in=tuple((layer, version) for layer, version, _ in found[1:]),
            shadowed_bytes=sum(size for _, _, size in found[1:]),
        )
        for name, found in sorted(where.items())
        if len(found) > 1
    ]


def find_identical_files(layers: Iterable[tuple[str, MeasuredLayer]]) -> tuple[IdenticalFile, ...]:
    """Return contents stored in more than one layer, most duplicated bytes first."""
    by_hash: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for layer, measured in layers:
        for file in measured.files:
            if file.size and file.sha256:
                by_hash[file.sha256].append((layer, file.path, file.size))
    found = [
        IdenticalFile(sha256, places[0][2], tuple((layer, path) for layer, path, _ in places))
        for sha256, places in by_hash.items()
        if len({layer for layer, _, _ in places}) > 1
    ]
    return tuple(sorted(found, key=lambda f: (-f.duplicate_bytes, f.locations)))


def estimate_exclusion(
    package: str,
    layers: Sequence[LayerSizes],
    dependents: Mapping[str, Sequence[tuple[str, str]]],
) -> ExclusionEstimate:
    """Return what excluding *package* from every layer that installs it would save."""
    name = canonicalize_name(package)
    found = tuple(
        (layer.build_name, row.bytes, row.files)
        for layer in layers
        for row in layer.packages
        if row.name == name
    )
    needed_by = sorted({f"{pkg} ({layer})" for layer, pkg in dependents.get(name, ())})
    return ExclusionEstimate(package=name, layers=found, needed_by=tuple(needed_by))
