"""Lower-layer pins: the constraints an upper layer is resolved with (reference §4.5).

An upper layer must use the versions its lower layers already provide.  The
runtime's and then each linearised framework's locked packages become uv
``constraint-dependencies``; after resolution, packages a lower layer provides
are neutralised in the upper lock (§4.2 step 5) using
`is_provided_by_lower_layers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from venvstacks.lock.markers import evaluate_marker, parse_locked_marker
from venvstacks.spec.platforms import TargetPlatform


class PylockError(ValueError):
    """A parsed pylock lacks something venvstacks relies on; the message says where."""


@dataclass(frozen=True)
class LockedPin:
    """One ``[[packages]]`` entry of a pylock reduced to ``name==version ; marker``.

    ``marker`` is normalised (single quotes) and never holds the
    ``from_lower_layer`` clause; ``shared`` says whether the entry had it.
    """

    name: str
    version: str
    marker: str = ""
    shared: bool = False

    def render(self) -> str:
        """Return ``name==version`` or ``name==version ; marker``."""
        suffix = f" ; {self.marker}" if self.marker else ""
        return f"{self.name}=={self.version}{suffix}"


def _field(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise PylockError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def parse_locked_pin(entry: Mapping[str, Any], where: str = "packages[0]") -> LockedPin:
    """Parse one pylock package table; raise `PylockError` naming *where* it is malformed."""
    name = _field(entry, "name", where)
    raw_version = _field(entry, "version", where)
    try:
        version = str(Version(raw_version))
    except InvalidVersion:
        raise PylockError(f"{where}.version: invalid version {raw_version!r}") from None
    raw_marker = entry.get("marker", "")
    if not isinstance(raw_marker, str):
        raise PylockError(f"{where}.marker: expected a string, got {raw_marker!r}")
    if not raw_marker:
        return LockedPin(name, version)
    try:
        marker, shared = parse_locked_marker(raw_marker)
    except ValueError as exc:
        raise PylockError(f"{where}.marker: {exc}") from None
    return LockedPin(name, version, marker, shared)


def parse_locked_pins(pylock: Mapping[str, Any]) -> tuple[LockedPin, ...]:
    """Parse every ``[[packages]]`` entry of a parsed pylock, in file order."""
    packages = pylock.get("packages", [])
    if not isinstance(packages, Sequence) or isinstance(packages, str):
        raise PylockError(f"packages: expected an array of tables, got {packages!r}")
    pins = []
    for index, entry in enumerate(packages):
        if not isinstance(entry, Mapping):
            raise PylockError(f"packages[{index}]: expected a table, got {entry!r}")
        pins.append(parse_locked_pin(entry, f"packages[{index}]"))
    return tuple(pins)


def compute_constraints(lower_pylocks: Iterable[Mapping[str, Any]]) -> tuple[LockedPin, ...]:
    """Return the pins lower layers impose, given their pylocks runtime first, then frameworks.

    Shared entries are skipped (the layer that installs them lists them too).
    Per name, the first unconditional pin shadows any later entry; conditional
    pins before it accumulate, one per distinct marker.  The result is sorted
    by name, each name's conditional pins before its unconditional one.
    """
    conditional: dict[str, list[LockedPin]] = {}
    unconditional: dict[str, LockedPin] = {}
    for pylock in lower_pylocks:
        for pin in parse_locked_pins(pylock):
            key = canonicalize_name(pin.name)
            if pin.shared or key in unconditional:
                continue
            if not pin.marker:
                unconditional[key] = pin
            elif all(seen.marker != pin.marker for seen in conditional.get(key, ())):
                conditional.setdefault(key, []).append(pin)
    pins: list[LockedPin] = []
    for name in sorted(conditional.keys() | unconditional.keys()):
        pins.extend(conditional.get(name, ()))
        if name in unconditional:
            pins.append(unconditional[name])
    return tuple(pins)


def render_constraints(pins: Iterable[LockedPin]) -> list[str]:
    """Return the ``constraint-dependencies`` lines for *pins*."""
    return [pin.render() for pin in pins]


def is_provided_by_lower_layers(
    pin: LockedPin,
    platforms: Sequence[TargetPlatform],
    constraints: Sequence[LockedPin],
    python_version: str,
    implementation: str = "cpython",
) -> bool:
    """Return whether lower layers already install *pin* wherever this layer needs it.

    *platforms* are the layer's platforms on which *pin*'s marker holds.  The
    package is provided when a lower pin has the same version and marker, or
    the same version unconditionally, or when lower pins of that name (any
    unconditional one, or the conditional ones together) cover every one of
    *platforms*; the constraints make the versions agree there.
    """
    key = canonicalize_name(pin.name)
    lower = [other for other in constraints if canonicalize_name(other.name) == key]
    if not lower:
        return False
    if any(other.version == pin.version and other.marker in {"", pin.marker} for other in lower):
        return True
    markers = [Marker(other.marker) if other.marker else None for other in lower]
    return all(
        any(
            marker is None or evaluate_marker(marker, platform, python_version, implementation)
            for marker in markers
        )
        for platform in platforms
    )
