"""Lock-time check of ``exclude_packages``: no layer may need a package a layer below leaves out.

A package a lower layer installs is marked shared in the upper layer's lock
(uv resolved it against the lower layer's pin), so the upper layer relies on
the lower layer installing it.  If that lower layer excludes it, the upper
layer would fail at run time; this is reported when locking, naming both layers.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.utils import canonicalize_name

from venvstacks.lock.constraints import LockedPin


def find_excluded_needs(
    build_name: str,
    pins: Sequence[LockedPin],
    lower: Sequence[tuple[str, tuple[str, ...], Sequence[LockedPin]]],
) -> list[str]:
    """Return one message per package *build_name* takes from a lower layer that excludes it.

    *lower* holds (build name, excluded names, pins) per lower layer in
    ``sys.path`` order; the first one that installs a package provides it.
    """
    problems = []
    for pin in pins:
        if not pin.shared:
            continue
        name = canonicalize_name(pin.name)
        for lower_name, excluded, lower_pins in lower:
            if any(canonicalize_name(p.name) == name and not p.shared for p in lower_pins):
                if name in excluded:
                    problems.append(
                        f"{build_name}: needs {name!r}, which {lower_name} excludes "
                        f"(exclude_packages); remove it from {lower_name}'s exclude_packages "
                        f"or stop requiring it in {build_name}"
                    )
                break
    return problems
