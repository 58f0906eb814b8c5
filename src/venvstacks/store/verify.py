"""``venvstacks verify --store``: the layer folders of store releases against their file manifests.

Each layer folder a chosen release needs (``layers/<folder>/<deployed name>``) is
checked like a deployed layer (see `venvstacks.deploy.integrity`); a folder that
several chosen releases share is checked once.  The check holds the store's lock,
so it never sees a folder that an ``add`` or ``gc`` is changing.
"""

from __future__ import annotations

from pathlib import Path

from venvstacks.deploy.integrity import check_layer
from venvstacks.deploy.repair import DeploymentCheck
from venvstacks.errors import StoreError
from venvstacks.locks import LockWaitReporter
from venvstacks.store.session import store_session


def verify_store(
    store: Path | str,
    *,
    release: int | None = None,
    all_releases: bool = False,
    lock_timeout: float = 0.0,
    waiting: LockWaitReporter | None = None,
) -> DeploymentCheck:
    """Check the layer folders of the current release (or *release*, or every release)."""
    with store_session(
        store, command="verify", lock_timeout=lock_timeout, waiting=waiting
    ) as session:
        layout, state = session.layout, session.state
        if all_releases:
            releases = state.releases
        else:
            wanted = release if release is not None else state.current
            found = state.find(wanted) if wanted is not None else None
            if found is None:
                what = f"no release {wanted}" if wanted is not None else "no current release"
                raise StoreError(
                    f"{layout.root}: {what}; see 'venvstacks store list' for the releases it holds"
                )
            releases = (found,)
        folders = sorted({(la.folder, la.install_target) for r in releases for la in r.layers})
        checks = tuple(check_layer(layout.layer_dir(f, t)) for f, t in folders)
    return DeploymentCheck(layout.root, checks)
