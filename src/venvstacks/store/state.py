"""The store's record, ``STORE/store.json``, and how each command changes it (pure).

The record is the single source of truth of a store: its releases (each with
every layer it contains, by key and folder), which release is current, which
one ``rollback`` returns to, and which are pinned.  Every command that changes
the store computes a new record with the functions here and commits it with one
atomic file replacement; the links under ``releases/`` and ``current`` are
derived from it (see `venvstacks.store.views`).  Layer folders record
themselves in ``<folder>/.venvstacks-layer.json`` once they are complete.

The formats are documented in ``docs/store.md`` and ``docs/store.schema.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt, ValidationError

from venvstacks.errors import StoreError
from venvstacks.fs import write_json
from venvstacks.store.keys import KeyedLayer

STATE_NAME = "store.json"
LAYER_RECORD_NAME = ".venvstacks-layer.json"
KindName = Literal["runtimes", "frameworks", "applications"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ReleaseLayer(_Model):
    """One layer of a release: its names, kind, key, store folder and archive hash."""

    layer_name: str
    install_target: str
    kind: KindName
    key: str
    folder: str
    archive_sha256: str
    launch_module: str | None = None


class Release(_Model):
    """One release: a published set of layers, pinned exactly by key."""

    id: PositiveInt
    added_at: str
    manifest: str
    pinned: bool = False
    layers: tuple[ReleaseLayer, ...]

    def find_app(self, name: str) -> ReleaseLayer | None:
        """Return the application layer with build or deployed name *name*."""
        return next(
            (
                la
                for la in self.layers
                if la.kind == "applications" and name in {la.layer_name, la.install_target}
            ),
            None,
        )


class StoreState(_Model):
    """The whole record: every release, the current one and the rollback target."""

    store_format: Literal[1] = 1
    next_release: PositiveInt = 1
    current: PositiveInt | None = None
    previous: PositiveInt | None = None
    releases: tuple[Release, ...] = ()

    def find(self, release_id: int) -> Release | None:
        """Return the release *release_id*, if the store holds it."""
        return next((r for r in self.releases if r.id == release_id), None)

    def folders(self) -> frozenset[str]:
        """Return the layer folders the releases of this record need."""
        return frozenset(la.folder for r in self.releases for la in r.layers)


class LayerRecord(_Model):
    """What a complete layer folder holds (written last, after post-install)."""

    key: str
    install_target: str
    archive_sha256: str
    lower: tuple[str, ...]
    size: NonNegativeInt


def _render_error(path: Path, exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{path}: {where + ': ' if where else ''}{first['msg']}"


def load_state(root: Path) -> StoreState:
    """Read ``store.json`` of the store *root* (an empty record when there is none yet)."""
    path = root / STATE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return StoreState()
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: can't read the store's record ({exc})") from None
    try:
        return StoreState.model_validate_json(text)
    except ValidationError as exc:
        raise StoreError(
            f"{_render_error(path, exc)}; the store's record is damaged: "
            "restore it, or move the store aside and add the releases again"
        ) from None


def write_state(root: Path, state: StoreState) -> None:
    """Commit *state* as the store's record (one atomic file replacement)."""
    write_json(root / STATE_NAME, state.model_dump(mode="json"))


def load_layer_record(folder: Path) -> LayerRecord | None:
    """Read a layer folder's record; None when it is missing or unreadable (not complete)."""
    try:
        return LayerRecord.model_validate_json(
            (folder / LAYER_RECORD_NAME).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None


def write_layer_record(folder: Path, record: LayerRecord) -> None:
    """Mark a layer folder complete (one atomic file write)."""
    write_json(folder / LAYER_RECORD_NAME, record.model_dump(mode="json"))


def compute_release_layers(keyed: Sequence[KeyedLayer]) -> tuple[ReleaseLayer, ...]:
    """Return the release entries of keyed layers."""
    return tuple(
        ReleaseLayer(
            layer_name=k.layer.layer_name,
            install_target=k.layer.install_target,
            kind=k.layer.kind.value,
            key=k.key,
            folder=k.folder,
            archive_sha256=f"sha256:{k.layer.archive_sha256}",
            launch_module=k.layer.launch_module,
        )
        for k in keyed
    )


def find_same_release(state: StoreState, layers: Sequence[ReleaseLayer]) -> Release | None:
    """Return the release holding exactly the layers *layers* (by key), if there is one."""
    wanted = sorted(la.key for la in layers)
    return next((r for r in state.releases if sorted(la.key for la in r.layers) == wanted), None)


def compute_added(
    state: StoreState, layers: Sequence[ReleaseLayer], manifest: str, added_at: str
) -> tuple[StoreState, int]:
    """Return the record with a new release of *layers*, and the new release's id."""
    release = Release(
        id=state.next_release, added_at=added_at, manifest=manifest, layers=tuple(layers)
    )
    new = state.model_copy(
        update={"next_release": release.id + 1, "releases": (*state.releases, release)}
    )
    return new, release.id


def _require(state: StoreState, release_id: int) -> Release:
    release = state.find(release_id)
    if release is None:
        ids = ", ".join(str(r.id) for r in state.releases) or "none"
        raise StoreError(
            f"the store has no release {release_id} (releases: {ids}); see 'venvstacks store list'"
        )
    return release


def compute_switched(state: StoreState, release_id: int) -> StoreState:
    """Return the record with *release_id* current and the current one as rollback target."""
    _require(state, release_id)
    if state.current == release_id:
        return state
    return state.model_copy(update={"current": release_id, "previous": state.current})


def compute_rolled_back(state: StoreState) -> StoreState:
    """Return the record switched back to the release that was current before."""
    if state.previous is None:
        raise StoreError("no release to roll back to: the store has had only one current release")
    if state.find(state.previous) is None:
        raise StoreError(
            f"release {state.previous}, the one to roll back to, was removed by 'store gc'; "
            "switch to another release with 'venvstacks store switch ID'"
        )
    return compute_switched(state, state.previous)


def compute_pinned(state: StoreState, release_id: int, *, pinned: bool) -> StoreState:
    """Return the record with the release pinned (kept by gc) or unpinned."""
    _require(state, release_id)
    releases = tuple(
        r.model_copy(update={"pinned": pinned}) if r.id == release_id else r for r in state.releases
    )
    return state.model_copy(update={"releases": releases})


@dataclass(frozen=True)
class GcPlan:
    """The releases gc keeps and removes, and the record after removing them."""

    kept: tuple[int, ...]
    removed: tuple[int, ...]
    state: StoreState


def compute_gc_plan(state: StoreState, keep: int) -> GcPlan:
    """Keep the current release, the rollback target, pinned releases and the *keep* newest."""
    newest = sorted((r.id for r in state.releases), reverse=True)[:keep]
    kept = {r.id for r in state.releases if r.pinned} | set(newest)
    kept |= {i for i in (state.current, state.previous) if i is not None}
    releases = tuple(r for r in state.releases if r.id in kept)
    removed = tuple(r.id for r in state.releases if r.id not in kept)
    new = state.model_copy(update={"releases": releases})
    return GcPlan(tuple(sorted(kept)), removed, new)
