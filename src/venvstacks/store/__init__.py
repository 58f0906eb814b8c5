"""A layer store: releases of published layers, atomic switch, rollback and garbage collection.

The public API, for the ``venvstacks store`` commands and for applications that
keep their own layers up to date::

    import subprocess
    from venvstacks.store import add_release, collect_garbage, find_app

    result = add_release("/opt/myapp/layers", "downloads/release-7")
    launch = find_app("/opt/myapp/layers", "app-chat")
    subprocess.run([*launch.app.command, "--port", "8080"], check=True)
    collect_garbage("/opt/myapp/layers", keep=2)

See ``docs/store.md``.  Everything else in this package is an implementation
detail.
"""

from venvstacks.errors import FolderLockedError, StoreError
from venvstacks.store.operations import (
    add_release,
    collect_garbage,
    find_app,
    list_store,
    pin_release,
    rollback_release,
    switch_release,
)
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
from venvstacks.store.state import ReleaseLayer

__all__ = [
    "AddResult",
    "AppLaunch",
    "FolderLockedError",
    "GcResult",
    "LayerFolderInfo",
    "PinResult",
    "ReleaseInfo",
    "ReleaseLayer",
    "StoreApp",
    "StoreError",
    "StoreListing",
    "SwitchResult",
    "add_release",
    "collect_garbage",
    "find_app",
    "list_store",
    "pin_release",
    "rollback_release",
    "switch_release",
]
