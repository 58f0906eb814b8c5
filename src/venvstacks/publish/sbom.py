"""A layer's software bill of materials: CycloneDX 1.6 JSON, made with cyclonedx-python-lib.

The SBOM lists what the layer installs: the layer's own locked packages for the
platform it was built for (its platform view, lower layers' packages left out),
each with its version, package URL (``pkg:pypi/<name>@<version>``) and the
sha256 of every locked wheel that installs there (one ``distribution`` reference
per wheel, since each wheel file has its own hash; a single wheel's hash is also
the component's).  A runtime layer also lists its interpreter
(``pkg:generic/cpython@X.Y.Z``).  The layer itself is the BOM's subject.

The document is reproducible: its serial number is derived from the layer's
lock (a UUID 5 of the deployed name, lock version and requirements hash) and its
timestamp is the lock time, so the same lock gives the same bytes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from venvstacks.lock.locker import compute_platform_packages
from venvstacks.lock.status import LayerLockStatus, load_pylock
from venvstacks.lock.views import PlatformPackage
from venvstacks.publish.metadata import METADATA_DIR
from venvstacks.spec.naming import LayerKind
from venvstacks.spec.platforms import TargetPlatform

SBOM_FILE_NAME = "venvstacks_sbom.cdx.json"
_NAMESPACE = uuid.UUID("5c4b0e8e-3a52-4f8e-9a53-0c6f2d7f6b1e")  # venvstacks' own SBOM namespace
_LAYER_TYPES = {
    LayerKind.RUNTIME: ComponentType.PLATFORM,
    LayerKind.FRAMEWORK: ComponentType.FRAMEWORK,
    LayerKind.APPLICATION: ComponentType.APPLICATION,
}


def _hash(value: str) -> HashType | None:
    algorithm, _, digest = value.partition(":")
    return HashType(alg=HashAlgorithm.SHA_256, content=digest) if algorithm == "sha256" else None


def _package_component(package: PlatformPackage) -> Component:
    name = canonicalize_name(package.name)
    purl = PackageURL(type="pypi", name=name, version=package.version)
    references = []
    for wheel in package.wheels:
        digest = wheel.get("hashes", {}).get("sha256")
        location = wheel.get("url") or wheel.get("path") or wheel.get("name")
        if digest and location:
            references.append(
                ExternalReference(
                    type=ExternalReferenceType.DISTRIBUTION,
                    url=XsUri(str(location)),
                    hashes=[HashType(alg=HashAlgorithm.SHA_256, content=digest)],
                )
            )
    hashes = [h for h in map(_hash, package.hashes) if h is not None]
    return Component(
        type=ComponentType.LIBRARY,
        name=name,
        version=package.version,
        purl=purl,
        bom_ref=purl.to_string(),
        hashes=hashes if len(hashes) == 1 else None,
        external_references=references,
    )


def render_layer_sbom(
    *,
    kind: LayerKind,
    deployed_name: str,
    lock_version: int,
    requirements_hash: str,
    locked_at: datetime,
    packages: Sequence[PlatformPackage],
    py_version: str,
) -> str:
    """Render the layer's CycloneDX 1.6 JSON SBOM (sorted keys, 2-space indent, final LF)."""
    subject = Component(
        type=_LAYER_TYPES[kind],
        name=deployed_name,
        version=str(lock_version),
        bom_ref=f"venvstacks-layer:{deployed_name}",
    )
    components = [_package_component(p) for p in packages]
    if kind is LayerKind.RUNTIME:
        purl = PackageURL(type="generic", name="cpython", version=py_version)
        components.insert(
            0,
            Component(
                type=ComponentType.APPLICATION,
                name="cpython",
                version=py_version,
                purl=purl,
                bom_ref=purl.to_string(),
            ),
        )
    serial = uuid.uuid5(_NAMESPACE, f"{deployed_name}\n{lock_version}\n{requirements_hash}")
    bom = Bom(
        components=components,
        serial_number=serial,
        metadata=BomMetaData(component=subject, timestamp=locked_at),
    )
    bom.register_dependency(subject, components)
    text = JsonV1Dot6(bom).output_as_string()
    return json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def compute_sbom_path(output_dir: Path, layer_name: str, tag: str) -> Path:
    """Where a layer's SBOM is published: ``__venvstacks__/sbom/<layer>[-<platform>].cdx.json``.

    A folder of its own, so tools that read every ``env_metadata/*.json`` as layer
    metadata (as 0.8's layout invites) never meet it.
    """
    return output_dir / METADATA_DIR / "sbom" / f"{layer_name}{tag}.cdx.json"


def compute_layer_sbom(status: LayerLockStatus, platform: TargetPlatform, py_version: str) -> str:
    """Render the SBOM of a validly locked layer built for *platform*."""
    stored, lock = status.stored, load_pylock(status.paths.pylock)
    if stored is None or lock is None or status.lock_version is None:
        raise ValueError(f"{status.layer.build_name} has no lock")
    return render_layer_sbom(
        kind=status.layer.kind,
        deployed_name=status.deployed_name,
        lock_version=status.lock_version,
        requirements_hash=stored.requirements_hash,
        locked_at=stored.locked_at,
        packages=compute_platform_packages(status.layer, lock, platform),
        py_version=py_version,
    )
