"""Layer kinds and the names derived from a layer's base name.

A layer has three names (see ``docs/spec.md``):

* its *base name* (``name`` in the spec), used by other layers to refer to it;
* its *build name*, prefixed by kind (``framework-torch``, ``app-chat``; runtimes
  have no prefix), used for build folders, lock folders and ``--include``;
* its *deployed name*, the build name plus ``@<lock version>`` for versioned
  layers, used as the folder name when the layer is unpacked.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

LayerName = NewType("LayerName", str)
BuildName = NewType("BuildName", str)
DeployedName = NewType("DeployedName", str)

UNKNOWN_VERSION = "???"


class LayerKind(StrEnum):
    """The three kinds of layer, in stacking order."""

    RUNTIME = "runtimes"
    FRAMEWORK = "frameworks"
    APPLICATION = "applications"

    @property
    def prefix(self) -> str:
        """The build-name prefix of this kind (empty for runtimes)."""
        return _PREFIXES[self]

    @property
    def noun(self) -> str:
        """The singular noun used in messages (``framework``)."""
        return _NOUNS[self]


_PREFIXES = {
    LayerKind.RUNTIME: "",
    LayerKind.FRAMEWORK: "framework-",
    LayerKind.APPLICATION: "app-",
}
_NOUNS = {
    LayerKind.RUNTIME: "runtime",
    LayerKind.FRAMEWORK: "framework",
    LayerKind.APPLICATION: "application",
}

RESERVED_RUNTIME_PREFIXES = ("framework-", "app-")


def compute_build_name(kind: LayerKind, name: LayerName) -> BuildName:
    """Return the build name of a layer (``framework-<name>``, ``app-<name>``, or the name)."""
    return BuildName(kind.prefix + name)


def compute_deployed_name(
    build_name: BuildName, *, versioned: bool, lock_version: int | None
) -> DeployedName:
    """Return the folder name a layer deploys to.

    Unversioned layers deploy under their build name.  Versioned layers append
    ``@<lock version>``; while a versioned layer has no valid lock its version is
    unknown and shown as ``@???``.
    """
    if not versioned:
        return DeployedName(build_name)
    version = UNKNOWN_VERSION if lock_version is None else str(lock_version)
    return DeployedName(f"{build_name}@{version}")


def compute_lock_group(build_name: BuildName) -> str:
    """Return the lock-file group name: the build name with ``.`` replaced by ``_``.

    PEP 751 names lock files ``pylock.<group>.toml`` and forbids further dots in
    the group, so ``cpython-3.11`` locks into ``pylock.cpython-3_11.toml``.
    """
    return build_name.replace(".", "_")
