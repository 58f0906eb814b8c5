"""What the store commands return, and print with ``--json`` (documented in ``docs/store.schema.json``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from venvstacks.store.state import ReleaseLayer


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreApp(_Result):
    """An application of a release and the command that launches it (append its arguments).

    ``command`` starts it through ``STORE/current/<build name>`` when the release
    is current (through ``STORE/releases/<id>/<build name>`` otherwise, and
    always on Windows); ``exact_command`` through the layer's own folder, which
    no later switch changes.
    """

    layer_name: str
    install_target: str
    launch_module: str
    command: tuple[str, ...]
    exact_command: tuple[str, ...]


class ReleaseInfo(_Result):
    """A release as ``store list`` shows it."""

    id: int
    added_at: str
    manifest: str
    current: bool
    rollback_target: bool
    pinned: bool
    layers: tuple[ReleaseLayer, ...]


class LayerFolderInfo(_Result):
    """A layer folder: what it holds, its size, and the releases that need it."""

    folder: str
    install_target: str
    size: int
    complete: bool
    releases: tuple[int, ...]


class StoreListing(_Result):
    """``store list``: releases, layer folders, and how to launch the current apps."""

    store: str
    current: int | None
    rollback_target: int | None
    releases: tuple[ReleaseInfo, ...]
    layer_folders: tuple[LayerFolderInfo, ...]
    applications: tuple[StoreApp, ...]
    recovered: tuple[str, ...] = ()


class AddResult(_Result):
    """``store add``: the release, whether it is current, which layers were stored or reused."""

    store: str
    release: int
    new_release: bool
    current: bool
    layers: tuple[str, ...]
    stored: tuple[str, ...]
    reused: tuple[str, ...]
    applications: tuple[StoreApp, ...]
    recovered: tuple[str, ...] = ()


class SwitchResult(_Result):
    """``store switch`` and ``store rollback``: the release now current and the rollback target."""

    store: str
    current: int
    rollback_target: int | None
    applications: tuple[StoreApp, ...]
    recovered: tuple[str, ...] = ()


class PinResult(_Result):
    """``store pin`` and ``store unpin``."""

    store: str
    release: int
    pinned: bool
    recovered: tuple[str, ...] = ()


class GcResult(_Result):
    """``store gc``: the releases and layer folders removed (or that would be), and the bytes freed."""

    store: str
    dry_run: bool
    kept_releases: tuple[int, ...]
    removed_releases: tuple[int, ...]
    removed_folders: tuple[LayerFolderInfo, ...]
    freed: int
    recovered: tuple[str, ...] = ()


class AppLaunch(_Result):
    """``store run``: the release and application chosen, and the command to start it."""

    store: str
    release: int
    app: StoreApp
