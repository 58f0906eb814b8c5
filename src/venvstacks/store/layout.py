"""Where things live in a store folder, and which folders are stores.

::

    STORE/
      store.json                the record (releases, current, rollback target, pins)
      current                   -> releases/<id> (a pointer file holding <id> on Windows)
      releases/<id>/<build name> -> ../../layers/<folder>/<deployed name>
      layers/<folder>/          one folder per layer key:
        <deployed name>/        the layer, post-installed here
        <lower deployed name>   -> ../<lower folder>/<lower deployed name>, per layer below
        .venvstacks-layer.json  written last: the folder is complete
      .staging/                 layers being unpacked (removed by the next command)
      .trash/                   folders being deleted (emptied by the next command)
      .gc.json                  the layer folders an unfinished gc still has to delete
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from venvstacks.errors import StoreError
from venvstacks.locks import LOCK_FILE_NAMES
from venvstacks.store.state import STATE_NAME

STORE_ENTRIES = frozenset(
    {STATE_NAME, "current", "releases", "layers", ".staging", ".trash", ".gc.json"}
)


@dataclass(frozen=True)
class StoreLayout:
    """The paths of one store folder (*root* is absolute and resolved)."""

    root: Path

    @property
    def layers(self) -> Path:
        """The folder holding one folder per layer key."""
        return self.root / "layers"

    @property
    def releases(self) -> Path:
        """The folder holding one folder of links per release."""
        return self.root / "releases"

    @property
    def current(self) -> Path:
        """The link (or pointer file) naming the current release."""
        return self.root / "current"

    @property
    def staging(self) -> Path:
        """Where layers are unpacked before they are moved into ``layers/``."""
        return self.root / ".staging"

    @property
    def trash(self) -> Path:
        """Where folders are moved (atomically) before they are deleted."""
        return self.root / ".trash"

    @property
    def gc_journal(self) -> Path:
        """The list of layer folders a gc run is deleting."""
        return self.root / ".gc.json"

    def release_dir(self, release_id: int) -> Path:
        """Return the folder of links of release *release_id*."""
        return self.releases / str(release_id)

    def layer_dir(self, folder: str, install_target: str) -> Path:
        """Return the post-installed layer *install_target* in the layer folder *folder*."""
        return self.layers / folder / install_target


def open_layout(store: Path | str, *, create: bool = False) -> StoreLayout:
    """Return the layout of the store folder *store*, checking that it is one.

    A store is a folder holding ``store.json``, or one holding only store
    entries (an add interrupted before its first release), or (with *create*)
    an empty or missing folder, which is created.
    """
    root = Path(store).absolute()
    if not root.exists():
        if not create:
            raise StoreError(
                f"{root}: no such store; add a release with 'venvstacks store add --store {root} ...'"
            )
        try:
            root.mkdir(parents=True)
        except OSError as exc:
            raise StoreError(f"{root}: can't create the store folder ({exc.strerror})") from None
    if not root.is_dir():
        raise StoreError(f"{root}: not a folder; pass the store folder with --store")
    root = root.resolve()  # post-install writes absolute paths: give it one spelling
    if not (root / STATE_NAME).is_file():
        try:
            foreign = sorted(
                p.name for p in root.iterdir() if p.name not in STORE_ENTRIES | LOCK_FILE_NAMES
            )
        except OSError as exc:
            raise StoreError(f"{root}: can't read the store folder ({exc.strerror})") from None
        if foreign:
            raise StoreError(
                f"{root}: not a venvstacks store (it holds {', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); pass an empty or new folder"  # noqa: PLR2004
            )
    return StoreLayout(root)
