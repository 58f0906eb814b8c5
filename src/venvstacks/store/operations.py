"""The store commands: add, list, switch, rollback, pin, unpin, gc, and finding an app to run.

Each command holds the store's lock, recovers from a killed command (see
`venvstacks.store.session`), does its work, and commits the store's record
with one atomic replacement before updating the links derived from it.  A
process killed at any point leaves the previous current release runnable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from venvstacks._injected.postinstall import LayerConfigError, load_layer_config
from venvstacks.deploy.manifest import load_manifest
from venvstacks.deploy.selection import select_layers
from venvstacks.errors import StoreError
from venvstacks.locks import LockWaitReporter
from venvstacks.signing import PublicKey
from venvstacks.store.keys import compute_keyed_layers
from venvstacks.store.layers import compute_tree_size, install_layers
from venvstacks.store.layout import StoreLayout, open_layout
from venvstacks.store.links import USE_POINTER
from venvstacks.store.results import (
    AddResult,
    AppLaunch,
    GcResult,
    LayerFolderInfo,
    PinResult,
    ReleaseInfo,
    StoreApp,
    StoreListing,
    SwitchResult,
)
from venvstacks.store.session import Session, finish_gc, store_session, write_gc_journal
from venvstacks.store.state import (
    Release,
    StoreState,
    compute_added,
    compute_gc_plan,
    compute_pinned,
    compute_release_layers,
    compute_rolled_back,
    compute_switched,
    find_same_release,
    load_layer_record,
    load_state,
    write_state,
)
from venvstacks.store.views import sync_views


def _launch(layer_dir: Path, name: str, module: str) -> tuple[str, ...]:
    try:
        python = load_layer_config(layer_dir)["python"]
    except (LayerConfigError, KeyError, TypeError) as exc:
        raise StoreError(f"{name}: can't read its layer config ({exc})") from None
    return (str(python), "-m", module)


def compute_apps(
    layout: StoreLayout, state: StoreState, release: Release, *, pointer: bool
) -> tuple[StoreApp, ...]:
    """Return each application of *release* with its launch commands."""
    apps = []
    for layer in release.layers:
        if layer.kind != "applications" or not layer.launch_module:
            continue
        stable = layout.current if state.current == release.id and not pointer else None
        via = (stable or layout.release_dir(release.id)) / layer.layer_name
        exact = layout.layer_dir(layer.folder, layer.install_target)
        apps.append(
            StoreApp(
                layer_name=layer.layer_name,
                install_target=layer.install_target,
                launch_module=layer.launch_module,
                command=_launch(via, layer.install_target, layer.launch_module),
                exact_command=_launch(exact, layer.install_target, layer.launch_module),
            )
        )
    return tuple(apps)


def _commit(session: Session, state: StoreState) -> None:
    write_state(session.layout.root, state)
    sync_views(session.layout, state, pointer=session.pointer)


def add_release(
    store: Path | str,
    artifact_dir: Path | str,
    *,
    include: Sequence[str] = (),
    platform: str | None = None,
    trusted_keys: Sequence[PublicKey] = (),
    switch: bool = True,
    lock_timeout: float = 0.0,
    pointer: bool = USE_POINTER,
    waiting: LockWaitReporter | None = None,
) -> AddResult:
    """Add the layers published in *artifact_dir* to the store *store* as a release.

    Only the layer folders the store does not hold yet are verified, unpacked
    and post-installed; the release is recorded once all of them are complete,
    and made current unless *switch* is false.  Adding a release the store
    already holds (the same layers) adds nothing and returns that release.
    *include*, *platform* and *trusted_keys* (the manifest must be signed by
    one of them) work as for `venvstacks.deploy.deploy_layers`.
    """
    manifest = load_manifest(
        Path(os.path.abspath(artifact_dir)),  # noqa: PTH100
        platform,
        trusted_keys,
    )
    keyed = compute_keyed_layers(select_layers(manifest, include))
    with store_session(
        store,
        command="add",
        lock_timeout=lock_timeout,
        create=True,
        pointer=pointer,
        waiting=waiting,
    ) as session:
        layout, state = session.layout, session.state
        layers = compute_release_layers(keyed)
        same = find_same_release(state, layers)
        stored: tuple[str, ...] = ()
        if same is None:
            stored = install_layers(layout, manifest.artifact_dir, keyed)
            added_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            state, release_id = compute_added(state, layers, str(manifest.path), added_at)
        else:
            release_id = same.id
        if switch:
            state = compute_switched(state, release_id)
        if state != session.state:
            _commit(session, state)
        release = state.find(release_id)
        assert release is not None  # noqa: S101 - just added or found
        return AddResult(
            store=str(layout.root),
            release=release_id,
            new_release=same is None,
            current=state.current == release_id,
            layers=tuple(la.install_target for la in layers),
            stored=stored,
            reused=tuple(la.install_target for la in layers if la.install_target not in stored),
            applications=compute_apps(layout, state, release, pointer=session.pointer),
            recovered=session.recovered,
        )


def _folder_info(state: StoreState, folder: Path) -> LayerFolderInfo:
    record = load_layer_record(folder)
    install_target = record.install_target if record else folder.name.partition("-")[2]
    return LayerFolderInfo(
        folder=folder.name,
        install_target=install_target,
        size=record.size if record else compute_tree_size(folder),
        complete=record is not None,
        releases=tuple(
            r.id for r in state.releases if any(la.folder == folder.name for la in r.layers)
        ),
    )


def _folders(layout: StoreLayout, state: StoreState) -> tuple[LayerFolderInfo, ...]:
    if not layout.layers.is_dir():
        return ()
    return tuple(
        _folder_info(state, path)
        for path in sorted(layout.layers.iterdir())
        if path.is_dir() and not path.is_symlink()
    )


def list_store(
    store: Path | str,
    *,
    lock_timeout: float = 0.0,
    pointer: bool = USE_POINTER,
    waiting: LockWaitReporter | None = None,
) -> StoreListing:
    """List the store's releases and layer folders, and how to launch the current apps."""
    with store_session(
        store, command="list", lock_timeout=lock_timeout, pointer=pointer, waiting=waiting
    ) as session:
        layout, state = session.layout, session.state
        current = state.find(state.current) if state.current is not None else None
        return StoreListing(
            store=str(layout.root),
            current=state.current,
            rollback_target=state.previous,
            releases=tuple(
                ReleaseInfo(
                    id=r.id,
                    added_at=r.added_at,
                    manifest=r.manifest,
                    current=r.id == state.current,
                    rollback_target=r.id == state.previous,
                    pinned=r.pinned,
                    layers=r.layers,
                )
                for r in state.releases
            ),
            layer_folders=_folders(layout, state),
            applications=(
                compute_apps(layout, state, current, pointer=session.pointer) if current else ()
            ),
            recovered=session.recovered,
        )


def _switch_result(session: Session, state: StoreState) -> SwitchResult:
    assert state.current is not None  # noqa: S101 - just switched
    release = state.find(state.current)
    assert release is not None  # noqa: S101 - switching checks it exists
    return SwitchResult(
        store=str(session.layout.root),
        current=state.current,
        rollback_target=state.previous,
        applications=compute_apps(session.layout, state, release, pointer=session.pointer),
        recovered=session.recovered,
    )


def switch_release(
    store: Path | str,
    release_id: int,
    *,
    lock_timeout: float = 0.0,
    pointer: bool = USE_POINTER,
    waiting: LockWaitReporter | None = None,
) -> SwitchResult:
    """Make *release_id* the current release (instant: nothing is unpacked)."""
    with store_session(
        store, command="switch", lock_timeout=lock_timeout, pointer=pointer, waiting=waiting
    ) as s:
        state = compute_switched(s.state, release_id)
        if state != s.state:
            _commit(s, state)
        return _switch_result(s, state)


def rollback_release(
    store: Path | str,
    *,
    lock_timeout: float = 0.0,
    pointer: bool = USE_POINTER,
    waiting: LockWaitReporter | None = None,
) -> SwitchResult:
    """Switch back to the release that was current before the current one."""
    with store_session(
        store, command="rollback", lock_timeout=lock_timeout, pointer=pointer, waiting=waiting
    ) as s:
        state = compute_rolled_back(s.state)
        _commit(s, state)
        return _switch_result(s, state)


def pin_release(
    store: Path | str,
    release_id: int,
    *,
    pinned: bool = True,
    lock_timeout: float = 0.0,
    pointer: bool = USE_POINTER,
    waiting: LockWaitReporter | None = None,
) -> PinResult:
    """Pin *release_id* (gc keeps it) or, with ``pinned=False``, unpin it."""
    command = "pin" if pinned else "unpin"
    with store_session(
        store, command=command, lock_timeout=lock_timeout, pointer=pointer, waiting=waiting
    ) as s:
        state = compute_pinned(s.state, release_id, pinned=pinned)
        if state != s.state:
            _commit(s, state)
        return PinResult(
            store=str(s.layout.root), release=release_id, pinned=pinned, recovered=s.recovered
        )


def collect_garbage(
    store: Path | str,
    *,
    keep: int = 3,
    dry_run: bool = False,
    lock_timeout: float = 0.0,
    pointer: bool = USE_POINTER,
    waiting: LockWaitReporter | None = None,
) -> GcResult:
    """Remove old releases and every layer folder no kept release needs.

    Kept: the current release, the one ``rollback`` returns to, pinned releases
    and the *keep* newest.  A layer folder is deleted only when no kept release
    needs it, so a runtime shared with a kept release always stays.  With
    *dry_run*, nothing changes and the result says what would be removed.
    """
    if keep < 0:
        raise StoreError(f"--keep {keep}: pass a number of releases to keep, 0 or more")
    with store_session(
        store, command="gc", lock_timeout=lock_timeout, pointer=pointer, waiting=waiting
    ) as s:
        layout = s.layout
        plan = compute_gc_plan(s.state, keep)
        needed = plan.state.folders()
        doomed = [f for f in _folders(layout, s.state) if f.folder not in needed]
        if not dry_run and doomed:
            write_gc_journal(layout, [f.folder for f in doomed])
        if not dry_run:
            if plan.state != s.state:
                _commit(s, plan.state)
            finish_gc(layout, plan.state)
        return GcResult(
            store=str(layout.root),
            dry_run=dry_run,
            kept_releases=plan.kept,
            removed_releases=plan.removed,
            removed_folders=tuple(doomed),
            freed=sum(f.size for f in doomed),
            recovered=s.recovered,
        )


def find_app(store: Path | str, app: str, *, release: int | None = None) -> AppLaunch:
    """Return how to launch the application *app* of the current release (or of *release*).

    *app* is the application's build name (``app-x``) or deployed name
    (``app-x@1``).  This reads the store's record without taking its lock, so
    a launcher never waits behind a running ``store add``; the command starts
    the layer from its own folder, which no later switch changes.
    """
    layout = open_layout(store)
    state = load_state(layout.root)
    release_id = release if release is not None else state.current
    if release_id is None:
        raise StoreError(f"{layout.root}: no current release; add one with 'venvstacks store add'")
    found = state.find(release_id)
    if found is None:
        raise StoreError(f"{layout.root}: no release {release_id}; see 'venvstacks store list'")
    layer = found.find_app(app)
    if layer is None or not layer.launch_module:
        names = ", ".join(la.layer_name for la in found.layers if la.kind == "applications")
        raise StoreError(
            f"release {release_id} has no application {app!r} (applications: {names or 'none'})"
        )
    exact = layout.layer_dir(layer.folder, layer.install_target)
    command = _launch(exact, layer.install_target, layer.launch_module)
    return AppLaunch(
        store=str(layout.root),
        release=release_id,
        app=StoreApp(
            layer_name=layer.layer_name,
            install_target=layer.install_target,
            launch_module=layer.launch_module,
            command=command,
            exact_command=command,
        ),
    )
