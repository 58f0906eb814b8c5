"""Putting the layer folders a release needs into the store: verify, unpack, post-install.

Each layer folder goes through three states, each entered by one atomic step:

1. absent, or being unpacked in ``.staging/`` (a killed command's partial
   unpack is deleted by the next command);
2. unpacked and checked: the staging folder, with the links to the layers
   below, renamed to ``layers/<folder>`` (an interrupted add resumes from
   here: the folder is not unpacked again);
3. complete: post-installed in place, then ``.venvstacks-layer.json`` written.

Nothing refers to a folder before it is complete: a release is recorded only
after all its folders are.  Archives are checked, and layers unpacked, in
parallel; post-install runs lowest layer first, as each layer runs on the
ones below it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

from venvstacks.deploy.post_install import check_unpacked, run_postinstall
from venvstacks.deploy.unpack import UnpackStoppedError, unpack_layer
from venvstacks.deploy.verify import verify_archive
from venvstacks.errors import StoreError
from venvstacks.store.keys import KeyedLayer
from venvstacks.store.layout import StoreLayout
from venvstacks.store.links import make_folder_link
from venvstacks.store.state import LayerRecord, load_layer_record, write_layer_record

T = TypeVar("T")


def compute_tree_size(folder: Path) -> int:
    """Return the bytes of the files below *folder* (symlinks counted, never followed)."""
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            try:
                total += Path(parent, name).lstat().st_size
            except OSError:
                continue
    return total


def _parallel(work: Callable[[KeyedLayer], T], layers: Sequence[KeyedLayer]) -> None:
    if not layers:
        return
    with ThreadPoolExecutor(max_workers=min(len(layers), os.cpu_count() or 1)) as pool:
        futures = [pool.submit(work, layer) for layer in layers]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        if any(f.exception() for f in done):
            pool.shutdown(cancel_futures=True)
    errors = [e for f in futures if not f.cancelled() and (e := f.exception()) is not None]
    errors.sort(key=lambda e: isinstance(e, UnpackStoppedError))
    if errors:
        raise errors[0]


def _unpack(
    layout: StoreLayout, artifact_dir: Path, keyed: KeyedLayer, stop: threading.Event
) -> None:
    layer = keyed.layer
    archive = verify_archive(artifact_dir, layer)
    layout.staging.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{keyed.folder}.", dir=layout.staging))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the layer is run by any user
        layer_dir = unpack_layer(archive, layer, staging, stop=stop)
        check_unpacked(layer, layer_dir)
        for name, folder in keyed.lower:
            make_folder_link(
                staging / name, f"../{folder}/{name}", final_dir=layout.layers / keyed.folder
            )
        layout.layers.mkdir(exist_ok=True)
        staging.rename(layout.layers / keyed.folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _post_install(layout: StoreLayout, keyed: KeyedLayer) -> None:
    folder = layout.layers / keyed.folder
    run_postinstall(keyed.layer.install_target, folder / keyed.layer.install_target)
    record = LayerRecord(
        key=keyed.key,
        install_target=keyed.layer.install_target,
        archive_sha256=f"sha256:{keyed.layer.archive_sha256}",
        lower=tuple(name for name, _ in keyed.lower),
        size=compute_tree_size(folder),
    )
    write_layer_record(folder, record)


def is_complete(layout: StoreLayout, keyed: KeyedLayer) -> bool:
    """Whether the store holds *keyed*'s folder, post-installed and recorded."""
    record = load_layer_record(layout.layers / keyed.folder)
    return record is not None and record.key == keyed.key


def install_layers(
    layout: StoreLayout, artifact_dir: Path, layers: Sequence[KeyedLayer]
) -> tuple[str, ...]:
    """Make every folder of *layers* complete; return the deployed names that were stored.

    Layers already complete are left alone (their archives are not even read);
    layers already unpacked by an interrupted add are only post-installed.
    Raises `DeployError` or `StoreError`; folders completed so far stay, ready
    for the next add.
    """
    missing = [k for k in layers if not is_complete(layout, k)]
    to_unpack = [k for k in missing if not (layout.layers / k.folder).is_dir()]
    stop = threading.Event()

    def unpack(keyed: KeyedLayer) -> None:
        try:
            _unpack(layout, artifact_dir, keyed, stop)
        except BaseException:
            stop.set()
            raise

    try:
        _parallel(unpack, to_unpack)
    finally:  # a failed unpack removes its own folder; the empty parent goes too
        if layout.staging.is_dir() and not any(layout.staging.iterdir()):
            layout.staging.rmdir()
    for keyed in sorted(missing, key=lambda k: len(k.lower)):  # lowest first
        _post_install(layout, keyed)
        if not is_complete(layout, keyed):
            raise StoreError(f"{keyed.layer.install_target}: could not record {keyed.folder}")
    return tuple(k.layer.install_target for k in missing)
