"""The size report's values: per layer, per package, across layers, and against a publication.

All byte counts are of the layer as published (what a deployed copy occupies),
except ``ArchiveSize.bytes`` and the download figures, which are archive bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KIB = 1024


def render_bytes(size: int) -> str:
    """Return *size* for people: ``512 B``, ``3.4 KiB``, ``12.0 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < KIB:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= KIB
    return f"{value:.1f} GiB"


@dataclass(frozen=True)
class PackageSizes:
    """One row of a layer's table: a distribution or a special owner such as "(python runtime)"."""

    name: str
    version: str
    bytes: int
    files: int
    largest: tuple[tuple[str, int], ...]  # (layer-relative path, bytes), largest first
    reasons: tuple[str, ...]  # why it is installed ("requirement 'x'", "required by y")


@dataclass(frozen=True)
class ArchiveSize:
    """A published archive of the layer found in the output folder."""

    format: str
    name: str
    bytes: int


@dataclass(frozen=True)
class LayerSizes:
    """What one built layer holds."""

    build_name: str
    install_target: str
    kind: str
    unpacked_bytes: int
    file_count: int
    bytecode_bytes: int
    archives: tuple[ArchiveSize, ...]
    packages: tuple[PackageSizes, ...]  # largest first


@dataclass(frozen=True)
class ShadowedPackage:
    """A distribution installed in several layers of one application's stack.

    Only the copy in the first layer on ``sys.path`` (``used_in``) is imported.
    """

    application: str
    package: str
    used_in: tuple[str, str]  # (layer, version)
    shadowed_in: tuple[tuple[str, str], ...]  # (layer, version), in sys.path order
    shadowed_bytes: int


@dataclass(frozen=True)
class IdenticalFile:
    """A file with the same content stored in several layers."""

    sha256: str
    bytes: int
    locations: tuple[tuple[str, str], ...]  # (layer, path)

    @property
    def duplicate_bytes(self) -> int:
        """Bytes stored beyond one copy per content."""
        return self.bytes * (len({layer for layer, _ in self.locations}) - 1)


@dataclass(frozen=True)
class LayerUpdate:
    """What updating one layer from an earlier publication downloads."""

    build_name: str
    install_target: str
    previous_install_target: str | None  # None: the layer is new
    download_bytes: int


@dataclass(frozen=True)
class Comparison:
    """The download needed to go from an earlier publication to the current one."""

    earlier: Path
    changed: tuple[LayerUpdate, ...]  # changed and new layers only
    unchanged: tuple[str, ...]
    download_bytes: int
    full_download_bytes: int  # every current archive, for scale


@dataclass(frozen=True)
class ExclusionEstimate:
    """What leaving one package out of the built layers would save."""

    package: str
    layers: tuple[tuple[str, int, int], ...]  # (layer, bytes, files)
    needed_by: tuple[str, ...]  # installed packages that require it (would break)

    @property
    def saved_bytes(self) -> int:
        """Unpacked bytes saved over all layers."""
        return sum(size for _, size, _ in self.layers)


@dataclass(frozen=True)
class StackSizes:
    """The whole report."""

    layers: tuple[LayerSizes, ...]
    shadowed: tuple[ShadowedPackage, ...]
    identical: tuple[IdenticalFile, ...]  # most duplicated bytes first
    comparison: Comparison | None = None
    exclusions: tuple[ExclusionEstimate, ...] = ()
