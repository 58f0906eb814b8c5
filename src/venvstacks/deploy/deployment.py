"""Deploying published layers into a target folder: `deploy_layers`.

Steps, each finishing before the next starts:

1. read the manifest and choose the layers (`--include` plus what they run on);
2. skip the layers already deployed from the same archive (the target's record);
3. check every remaining archive's size and sha256;
4. unpack them in parallel into a staging folder inside the target, each member
   checked before it is written, and check each layer has its config and
   ``postinstall.py``;
5. move them into place and post-install them, runtimes first, then frameworks
   and applications in manifest order; then update the record.

Any failure before step 5 leaves the target untouched; a failure during step 5
restores the previous layer folders (see `venvstacks.deploy.swap`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from venvstacks.deploy.manifest import ManifestLayer, load_manifest
from venvstacks.deploy.post_install import check_unpacked, compute_launch_command, run_postinstall
from venvstacks.deploy.record import compute_changed, compute_record, load_record, write_record
from venvstacks.deploy.selection import select_layers
from venvstacks.deploy.swap import discard_previous, restore, staging_folder, swap_in
from venvstacks.deploy.unpack import UnpackStoppedError, unpack_layer
from venvstacks.deploy.verify import verify_archive
from venvstacks.errors import DeployError
from venvstacks.locks import LOCK_FILE_NAMES, LockWaitReporter, hold_folders
from venvstacks.signing import PublicKey
from venvstacks.spec.naming import DeployedName, LayerKind

T = TypeVar("T")


@dataclass(frozen=True)
class DeployedApp:
    """An application layer in the target, and the command that launches it.

    ``command`` is ``(<absolute path of the layer's python>, "-m", <launch module>)``;
    append the application's own arguments.
    """

    layer_name: str
    install_target: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class DeployResult:
    """What `deploy_layers` did, by deployed name, and how to launch each app.

    ``layers`` are all the chosen layers in post-install order; of those,
    ``deployed`` were unpacked and post-installed in this run and ``unchanged``
    were already deployed from the same archives and left alone.
    """

    target: Path
    manifest_path: Path
    layers: tuple[str, ...]
    deployed: tuple[str, ...]
    unchanged: tuple[str, ...]
    apps: tuple[DeployedApp, ...]


def _run_parallel(
    work: Callable[[ManifestLayer], T],
    layers: Sequence[ManifestLayer],
    stop: threading.Event | None = None,
) -> list[T]:
    """Run *work* for each layer in threads; raise the first failure in layer order.

    At the first failure (or an interrupt) *stop* is set and work not yet
    started is cancelled; running work is waited for.
    """
    with ThreadPoolExecutor(max_workers=min(len(layers), os.cpu_count() or 1)) as pool:
        futures: list[Future[T]] = [pool.submit(work, layer) for layer in layers]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = any(f.exception() for f in done)
        except BaseException:
            failed = True
            raise
        finally:
            if failed:
                if stop is not None:
                    stop.set()
                pool.shutdown(cancel_futures=True)  # don't start work whose result won't be used
    errors = [e for f in futures if not f.cancelled() and (e := f.exception()) is not None]
    # A layer stopped because another one failed is not the failure to report.
    errors.sort(key=lambda e: isinstance(e, UnpackStoppedError))
    if errors:
        raise errors[0]
    return [f.result() for f in futures]


def _unpack_all(
    staging: Path, layers: Sequence[ManifestLayer], archives: Mapping[DeployedName, Path]
) -> None:
    stop = threading.Event()  # set at the first failure: the other layers won't be used

    def unpack(layer: ManifestLayer) -> None:
        layer_dir = unpack_layer(archives[layer.install_target], layer, staging, stop=stop)
        check_unpacked(layer, layer_dir)

    _run_parallel(unpack, layers, stop)


def _install(
    target: Path,
    layers: Sequence[ManifestLayer],
    archives: Mapping[DeployedName, Path],
    record: Mapping[str, str],
) -> None:
    with staging_folder(target) as staging:
        _unpack_all(staging, layers, archives)
        moves = swap_in(staging, target, [layer.install_target for layer in layers])
        try:
            for layer in layers:
                run_postinstall(layer, target / layer.install_target)
            write_record(target, compute_record(record, layers))
        except BaseException:
            restore(moves)
            raise
        discard_previous(staging)


def deploy_layers(
    artifact_dir: Path | str,
    target: Path | str,
    *,
    include: Sequence[str] = (),
    platform: str | None = None,
    lock_timeout: float = 0.0,
    waiting: LockWaitReporter | None = None,
    trusted_keys: Sequence[PublicKey] = (),
) -> DeployResult:
    """Deploy the layers published in *artifact_dir* into the folder *target*.

    *include* holds `fnmatch` patterns for build or deployed names (all layers
    when empty); the layers chosen layers run on always come too.  *platform*
    picks a tagged manifest (``venvstacks-<platform>.json``); by default the
    untagged one is used, else the one for this machine.  Layers already
    deployed from the same archive are left alone.  With *trusted_keys*, the
    manifest must be signed by one of them (checked before anything is read
    from the archives).  Raises `DeployError`, with the target as it was, when
    anything goes wrong.

    The target is locked while the deployment runs: when another deployment
    holds it, this one waits up to *lock_timeout* seconds (reporting to
    *waiting*), then raises `FolderLockedError`.
    """
    # Absolute but not resolved: post-install records the paths as the user gave them.
    folder = Path(os.path.abspath(target))  # noqa: PTH100
    if folder.exists() and not folder.is_dir():
        raise DeployError(f"{folder}: not a folder; pass a folder to deploy the layers into")
    created = not folder.exists()
    with hold_folders([folder], command="deploy", timeout=lock_timeout, reporter=waiting):
        try:
            return _deploy_locked(
                artifact_dir, folder, include=include, platform=platform, trusted_keys=trusted_keys
            )
        except BaseException:
            if created:
                _remove_created_target(folder)
            raise


def _remove_created_target(folder: Path) -> None:
    """Remove a target this failed deployment created, lock files and all, if nothing else is in it."""
    with contextlib.suppress(OSError):
        leftovers = {p.name for p in folder.iterdir()}
        if leftovers <= LOCK_FILE_NAMES:
            for name in sorted(leftovers):
                (folder / name).unlink()
            folder.rmdir()


def _deploy_locked(
    artifact_dir: Path | str,
    target: Path | str,
    *,
    include: Sequence[str] = (),
    platform: str | None = None,
    trusted_keys: Sequence[PublicKey] = (),
) -> DeployResult:
    # Absolute but not resolved: post-install records the paths as the user gave them.
    target = Path(os.path.abspath(target))  # noqa: PTH100
    manifest = load_manifest(
        Path(os.path.abspath(artifact_dir)),  # noqa: PTH100
        platform,
        trusted_keys,
    )
    layers = select_layers(manifest, include)
    if target.exists() and not target.is_dir():
        raise DeployError(f"{target}: not a folder; pass a folder to deploy the layers into")
    present = {
        la.install_target
        for la in layers
        if (target / la.install_target).is_dir() and not (target / la.install_target).is_symlink()
    }
    record = load_record(target)
    changed = compute_changed(layers, record, present)
    to_deploy = [layer for layer in layers if layer.install_target in changed]
    if to_deploy:
        archives = _run_parallel(lambda la: verify_archive(manifest.artifact_dir, la), to_deploy)
        created = not target.exists()
        target.mkdir(parents=True, exist_ok=True)
        try:
            paths = {la.install_target: a for la, a in zip(to_deploy, archives, strict=True)}
            _install(target, to_deploy, paths, record)
        except BaseException:
            if created:
                with contextlib.suppress(OSError):
                    target.rmdir()
            raise
    apps = tuple(
        DeployedApp(
            layer.layer_name,
            layer.install_target,
            compute_launch_command(layer, target / layer.install_target),
        )
        for layer in layers
        if layer.kind is LayerKind.APPLICATION
    )
    return DeployResult(
        target=target,
        manifest_path=manifest.path,
        layers=tuple(la.install_target for la in layers),
        deployed=tuple(la.install_target for la in to_deploy),
        unchanged=tuple(la.install_target for la in layers if la.install_target not in changed),
        apps=apps,
    )
