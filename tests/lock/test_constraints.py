from __future__ import annotations

from typing import Any

import pytest

from venvstacks.lock.constraints import (
    LockedPin,
    PylockError,
    compute_constraints,
    is_provided_by_lower_layers,
    parse_locked_pin,
    parse_locked_pins,
    render_constraints,
)
from venvstacks.spec.platforms import ALL_PLATFORMS, TargetPlatform

P = TargetPlatform


def pylock(*packages: dict[str, Any]) -> dict[str, Any]:
    return {"lock-version": "1.0", "created-by": "uv", "packages": list(packages)}


def package(name: str, version: str, marker: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "version": version, "index": "https://pypi.org/simple"}
    if marker is not None:
        entry["marker"] = marker
    return entry


def test_parse_locked_pin() -> None:
    assert parse_locked_pin(package("numpy", "2.3.2")) == LockedPin("numpy", "2.3.2")
    assert parse_locked_pin(package("a", "1.0-1", 'sys_platform == "win32"')) == LockedPin(
        "a", "1.0.post1", "sys_platform == 'win32'"
    )
    shared = package("b", "2", "(os_name == 'nt') and sys_platform == 'from_lower_layer'")
    assert parse_locked_pin(shared) == LockedPin("b", "2", "os_name == 'nt'", shared=True)


def test_render_pins() -> None:
    pins = [LockedPin("numpy", "2.3.2"), LockedPin("a", "1", "os_name == 'nt'", shared=True)]
    assert render_constraints(pins) == ["numpy==2.3.2", "a==1 ; os_name == 'nt'"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"packages": "numpy"}, "packages: expected an array of tables, got 'numpy'"),
        ({"packages": [1]}, r"packages\[0\]: expected a table, got 1"),
        (
            {"packages": [{"name": "a"}]},
            r"packages\[0\]\.version: expected a non-empty string, got None",
        ),
        (
            {"packages": [{"name": "a", "version": "1", "marker": 3}]},
            r"packages\[0\]\.marker: expected a string, got 3",
        ),
        (
            {
                "packages": [
                    {
                        "name": "a",
                        "version": "1",
                        "marker": "sys_platform == 'from_lower_layer' or os_name == 'nt'",
                    }
                ]
            },
            r"packages\[0\]\.marker: unexpected 'from_lower_layer' clause",
        ),
    ],
)
def test_malformed_pylock(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PylockError, match=f"^{message}"):
        parse_locked_pins(data)


def test_constraints_from_runtime_and_frameworks() -> None:
    runtime = pylock(
        package("numpy", "2.3.2"),
        package("dlltracer", "1.0.3", "sys_platform == 'win32'"),
    )
    framework = pylock(
        package("numpy", "2.3.2", "sys_platform == 'from_lower_layer'"),
        package("scipy", "1.16.1"),
        package("anyio", "4.10.0"),
    )
    assert render_constraints(compute_constraints([runtime, framework])) == [
        "anyio==4.10.0",
        "dlltracer==1.0.3 ; sys_platform == 'win32'",
        "numpy==2.3.2",
        "scipy==1.16.1",
    ]


def test_first_unconditional_pin_shadows_later_ones() -> None:
    runtime = pylock(package("six", "1.16.0"))
    framework = pylock(package("six", "1.17.0"), package("Six", "1.15.0", "os_name == 'nt'"))
    assert render_constraints(compute_constraints([runtime, framework])) == ["six==1.16.0"]


def test_conditional_pins_accumulate_until_shadowed() -> None:
    first = pylock(
        package("torch", "2.8.0+cpu", "sys_platform == 'linux'"),
        package("torch", "2.8.0", 'sys_platform == "darwin"'),
    )
    second = pylock(
        package("torch", "2.7.0", "sys_platform == 'linux'"),  # same marker: already pinned
        package("torch", "2.8.0+cu128", "sys_platform == 'win32'"),
        package("torch", "2.8.0"),
    )
    third = pylock(package("torch", "2.9.0", "os_name == 'nt'"))
    assert render_constraints(compute_constraints([first, second, third])) == [
        "torch==2.8.0+cpu ; sys_platform == 'linux'",
        "torch==2.8.0 ; sys_platform == 'darwin'",
        "torch==2.8.0+cu128 ; sys_platform == 'win32'",
        "torch==2.8.0",
    ]


def test_shared_entries_are_skipped() -> None:
    framework = pylock(
        package("numpy", "2.3.2", "sys_platform == 'from_lower_layer'"),
        package("a", "1", "(os_name == 'nt') and sys_platform == 'from_lower_layer'"),
    )
    assert compute_constraints([framework]) == ()
    assert compute_constraints([]) == ()


def test_names_are_grouped_and_sorted_canonically() -> None:
    lower = pylock(package("Typing_Extensions", "4.15.0"), package("attrs", "25.1.0"))
    upper = pylock(package("typing-extensions", "4.0.0"))
    assert render_constraints(compute_constraints([lower, upper])) == [
        "attrs==25.1.0",
        "Typing_Extensions==4.15.0",
    ]


WINDOWS = (P.WIN_AMD64, P.WIN_ARM64)
LINUX_X86 = (P.LINUX_X86_64,)


@pytest.mark.parametrize(
    ("pin", "platforms", "constraints", "expected"),
    [
        # No lower pin of that name.
        (LockedPin("a", "1"), ALL_PLATFORMS, [LockedPin("b", "1")], False),
        # Same name, version and marker.
        (
            LockedPin("a", "1", "os_name == 'nt'"),
            WINDOWS,
            [LockedPin("a", "1", "os_name == 'nt'")],
            True,
        ),
        # Same name and version, unconditional below.
        (LockedPin("a", "1", "os_name == 'nt'"), WINDOWS, [LockedPin("a", "1")], True),
        # Any unconditional copy below covers every platform.
        (LockedPin("A", "2"), ALL_PLATFORMS, [LockedPin("a", "1")], True),
        # Conditional copies below covering every platform where this one applies.
        (
            LockedPin("a", "1", "os_name == 'nt' or sys_platform == 'linux'"),
            (P.LINUX_X86_64, P.WIN_AMD64),
            [
                LockedPin("a", "1", "sys_platform == 'win32'"),
                LockedPin("a", "1", "platform_system == 'Linux'"),
            ],
            True,
        ),
        # ... but not if one platform is left out.
        (
            LockedPin("a", "1"),
            (P.LINUX_X86_64, P.WIN_AMD64, P.MACOSX_ARM64),
            [
                LockedPin("a", "1", "sys_platform == 'win32'"),
                LockedPin("a", "1", "platform_system == 'Linux'"),
            ],
            False,
        ),
        (
            LockedPin("a", "1", "python_full_version >= '3.11.5'"),
            LINUX_X86,
            [LockedPin("a", "1", "python_full_version < '3.11.5'")],
            False,
        ),
    ],
)
def test_provided_by_lower_layers(
    pin: LockedPin,
    platforms: tuple[TargetPlatform, ...],
    constraints: list[LockedPin],
    expected: bool,
) -> None:
    assert is_provided_by_lower_layers(pin, platforms, constraints, "3.11.7") is expected


def test_provided_depends_on_the_runtime() -> None:
    lower = [LockedPin("a", "1", "implementation_name == 'cpython'")]
    pin = LockedPin("a", "1")
    assert is_provided_by_lower_layers(pin, LINUX_X86, lower, "3.11.7", "cpython")
    assert not is_provided_by_lower_layers(pin, LINUX_X86, lower, "3.11.7", "pypy")
