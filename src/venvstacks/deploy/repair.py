"""``venvstacks verify``: check a deployment target's layers, and repair them from their archives.

`verify_deployment` checks every layer the target's deployment record lists
(see `venvstacks.deploy.integrity`).  With *repair_from* (an artifact folder),
each differing layer is repaired from its archive, which must be the very
archive the layer was deployed from (the record keeps its sha256) and is
checked again before use: it is unpacked into a staging folder inside the
target, only the modified and missing paths are moved into the layer,
unexpected paths are removed, and the layer's ``postinstall.py`` runs again
only if a file it writes was affected.  The layers are then checked again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from venvstacks.deploy.integrity import LayerCheck, check_layer
from venvstacks.deploy.manifest import ManifestLayer, load_manifest
from venvstacks.deploy.post_install import run_postinstall
from venvstacks.deploy.record import RECORD_NAME, load_record, render_archive_hash
from venvstacks.deploy.unpack import unpack_layer
from venvstacks.deploy.verify import verify_archive
from venvstacks.errors import DeployError
from venvstacks.fs import remove_tree
from venvstacks.signing import PublicKey


@dataclass(frozen=True)
class DeploymentCheck:
    """The outcome of `verify_deployment`: each layer's check, and what was repaired."""

    target: Path
    layers: tuple[LayerCheck, ...]
    repaired: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every layer matches its file manifest."""
        return all(layer.ok for layer in self.layers)


def _check_all(target: Path, names: Sequence[str]) -> tuple[LayerCheck, ...]:
    return tuple(check_layer(target / name) for name in names)


def _restore(check: LayerCheck, unpacked: Path) -> None:
    """Move the differing paths from the unpacked layer into the deployed one."""
    layer_dir = check.layer_dir
    for path in sorted({*check.modified, *check.missing}, key=lambda p: PurePosixPath(p).parts):
        source, destination = unpacked / path, layer_dir / path
        if not (source.exists() or source.is_symlink()):
            continue  # rendered by postinstall.py: it runs again below
        if destination.is_symlink() or destination.exists():
            if destination.is_dir() and not destination.is_symlink() and source.is_dir():
                continue  # a folder that was only in the way of nothing
            remove_tree(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir() and not source.is_symlink():
            destination.mkdir()
        else:
            source.replace(destination)
    for path in check.unexpected:
        remove_tree(layer_dir / path)


def _repair(
    target: Path, check: LayerCheck, layer: ManifestLayer, artifact_dir: Path, recorded: str | None
) -> None:
    if recorded != render_archive_hash(layer):
        raise DeployError(
            f"{layer.install_target}: the artifact folder holds another archive than the one "
            f"deployed ({layer.archive_name}); deploy it instead of repairing"
        )
    archive = verify_archive(artifact_dir, layer)
    staging = Path(tempfile.mkdtemp(dir=target, prefix=".venvstacks-repair-"))
    try:
        _restore(check, unpack_layer(archive, layer, staging))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if check.rendered_affected:
        run_postinstall(layer, check.layer_dir)


def verify_deployment(
    target: Path | str,
    *,
    repair_from: Path | str | None = None,
    trusted_keys: Sequence[PublicKey] = (),
) -> DeploymentCheck:
    """Check every layer deployed in *target*; with *repair_from*, repair the ones that differ.

    Raises `DeployError` when *target* holds no deployment, or when a repair
    can't be done (the target then keeps the layers as they were found, apart
    from paths already restored).
    """
    target = Path(os.path.abspath(target))  # noqa: PTH100 - as deploy: paths as the user gave them
    record = load_record(target)
    if not record:
        raise DeployError(
            f"{target}: no deployment here (no {RECORD_NAME}); pass a folder "
            "'venvstacks deploy' wrote to"
        )
    checks = _check_all(target, sorted(record))
    if repair_from is None or all(c.ok for c in checks):
        return DeploymentCheck(target, checks)
    manifest = load_manifest(Path(os.path.abspath(repair_from)), None, trusted_keys)  # noqa: PTH100
    by_name = {c.layer_dir.name: c for c in checks}
    repaired = []
    for layer in manifest.layers:  # runtimes first, as deploy post-installs them
        check = by_name.get(layer.install_target)
        if check is None or check.ok:
            continue
        if check.problem:
            raise DeployError(f"{layer.install_target}: can't repair: {check.problem}")
        _repair(target, check, layer, manifest.artifact_dir, record.get(layer.install_target))
        repaired.append(layer.install_target)
    unlisted = [c.layer_dir.name for c in checks if not c.ok and c.layer_dir.name not in repaired]
    if unlisted:
        raise DeployError(
            f"{', '.join(unlisted)}: not in the manifest of {manifest.path}; "
            "pass the artifact folder these layers were deployed from"
        )
    return DeploymentCheck(target, _check_all(target, sorted(record)), tuple(repaired))
