"""Checking, at lock time, that every locked package has a wheel for each target platform.

venvstacks never builds from source, so a layer whose lock lacks a wheel for
one of its platforms can't be built there.  The rules follow reference §4.8:

* ``any`` covers every platform, and a tag equal to the platform name is accepted;
* Linux: ``manylinux_X_Y_<arch>`` with ``X.Y`` no newer than the layer's glibc
  target (the legacy aliases ``manylinux1``/``2010``/``2014`` mean 2.5/2.12/2.17);
* macOS: ``macosx_X_Y_<arch>`` or ``macosx_X_Y_universal2`` with ``X.Y`` no newer
  than the layer's macOS target;
* Windows: the exact tag only.

`compute_wheel_file_name` finds the file name of a pylock wheel entry, for
this check and for the lock's requirements hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from venvstacks.spec.platforms import TargetPlatform

_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_(\w+)")
_LEGACY_MANYLINUX = re.compile(r"(manylinux1|manylinux2010|manylinux2014)_(\w+)")
_LEGACY_GLIBC = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MACOSX = re.compile(r"macosx_(\d+)_(\d+)_(\w+)")


def compute_wheel_file_name(entry: Mapping[str, Any], where: str = "wheels[0]") -> str:
    """Return the file name of a pylock ``[[packages.wheels]]`` entry.

    The ``name`` key if present, else the last segment of ``path``, else the
    last segment of the (URL-unquoted) ``url`` path.  Raises `ValueError`
    naming *where* when the entry has none of them.
    """
    name = entry.get("name")
    if not name and isinstance(path := entry.get("path"), str):
        name = re.split(r"[/\\]", path)[-1]
    if not name and isinstance(url := entry.get("url"), str):
        name = re.split(r"[/\\]", unquote(urlsplit(url).path))[-1]
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: wheel entry has no 'name', 'path' or 'url'")
    return name


def _arch(platform: TargetPlatform) -> str:
    return platform.value.partition("_")[2]


def compute_tag_covers(
    tag_platform: str,
    platform: TargetPlatform,
    *,
    linux_version: tuple[int, int],
    macosx_version: tuple[int, int],
) -> bool:
    """Return whether a wheel's platform tag (``manylinux_2_17_x86_64``) installs on *platform*."""
    if tag_platform in {"any", platform.value}:
        return True
    if platform.is_linux:
        if match := _MANYLINUX.fullmatch(tag_platform):
            glibc = (int(match[1]), int(match[2]))
            return match[3] == _arch(platform) and glibc <= linux_version
        if match := _LEGACY_MANYLINUX.fullmatch(tag_platform):
            return match[2] == _arch(platform) and _LEGACY_GLIBC[match[1]] <= linux_version
    if platform.is_macos and (match := _MACOSX.fullmatch(tag_platform)):
        macos = (int(match[1]), int(match[2]))
        return match[3] in {_arch(platform), "universal2"} and macos <= macosx_version
    return False


def compute_wheel_platforms(
    wheel_names: Iterable[str],
    platforms: Sequence[TargetPlatform],
    *,
    linux_version: tuple[int, int],
    macosx_version: tuple[int, int],
) -> tuple[TargetPlatform, ...]:
    """Return the *platforms* (in the given order) that at least one of the wheels installs on.

    A name that isn't a valid wheel file name covers no platform.
    """
    tags: set[str] = set()
    for wheel_name in wheel_names:
        try:
            tags.update(tag.platform for tag in parse_wheel_filename(wheel_name)[3])
        except InvalidWheelFilename:
            continue
    return tuple(
        platform
        for platform in platforms
        if any(
            compute_tag_covers(
                tag, platform, linux_version=linux_version, macosx_version=macosx_version
            )
            for tag in tags
        )
    )


@dataclass(frozen=True)
class PackageWheels:
    """One locked (not shared) package: its wheel file names and where it is installed."""

    name: str
    wheel_names: tuple[str, ...]
    platforms: tuple[TargetPlatform, ...]


@dataclass(frozen=True)
class MissingWheels:
    """A package without wheels for some of the platforms it is installed on."""

    name: str
    platforms: tuple[TargetPlatform, ...]

    def render(self) -> str:
        """Return the problem line: ``numpy: no wheels available for ['win_arm64']``."""
        return f"{self.name}: no wheels available for {[p.value for p in self.platforms]}"


@dataclass(frozen=True)
class WheelAvailability:
    """The outcome of the wheel check for one layer."""

    missing: tuple[MissingWheels, ...]
    available_platforms: tuple[TargetPlatform, ...]

    @property
    def ok(self) -> bool:
        """Whether every package has wheels for every platform it is installed on."""
        return not self.missing

    @property
    def problems(self) -> tuple[str, ...]:
        """One line per package lacking wheels, in lock order."""
        return tuple(missing.render() for missing in self.missing)

    @property
    def hint(self) -> str:
        """What the user can do: narrow ``platforms`` to those with wheels for everything."""
        if not self.available_platforms:
            return "There are no platforms with wheels available for all packages."
        names = [p.value for p in self.available_platforms]
        return f"Set platforms to {names} to limit to available wheels."


def compute_wheel_availability(
    packages: Iterable[PackageWheels],
    platforms: Sequence[TargetPlatform],
    *,
    linux_version: tuple[int, int],
    macosx_version: tuple[int, int],
) -> WheelAvailability:
    """Check every package's wheels against the platforms it is installed on.

    *platforms* are the layer's target platforms; those where some package has
    no wheel are left out of ``available_platforms``.  *linux_version* is the
    layer's glibc target and *macosx_version* its macOS target (major, minor).
    """
    missing: list[MissingWheels] = []
    for package in packages:
        covered = compute_wheel_platforms(
            package.wheel_names,
            package.platforms,
            linux_version=linux_version,
            macosx_version=macosx_version,
        )
        uncovered = tuple(p for p in package.platforms if p not in covered)
        if uncovered:
            missing.append(MissingWheels(package.name, uncovered))
    lacking = {platform for entry in missing for platform in entry.platforms}
    available = tuple(p for p in platforms if p not in lacking)
    return WheelAvailability(tuple(missing), available)
