from __future__ import annotations

import pytest

from venvstacks.lock.wheels import (
    MissingWheels,
    PackageWheels,
    WheelAvailability,
    compute_tag_covers,
    compute_wheel_availability,
    compute_wheel_file_name,
    compute_wheel_platforms,
)
from venvstacks.spec.platforms import ALL_PLATFORMS, TargetPlatform

P = TargetPlatform
TARGETS = {"linux_version": (2, 28), "macosx_version": (13, 0)}


@pytest.mark.parametrize(
    ("tag", "platform", "expected"),
    [
        ("any", P.WIN_ARM64, True),
        ("linux_x86_64", P.LINUX_X86_64, True),
        ("linux_x86_64", P.LINUX_AARCH64, False),
        ("manylinux_2_28_x86_64", P.LINUX_X86_64, True),
        ("manylinux_2_17_x86_64", P.LINUX_X86_64, True),
        ("manylinux_2_31_x86_64", P.LINUX_X86_64, False),
        ("manylinux_2_28_aarch64", P.LINUX_X86_64, False),
        ("manylinux_2_28_aarch64", P.LINUX_AARCH64, True),
        ("manylinux2014_x86_64", P.LINUX_X86_64, True),
        ("manylinux2014_aarch64", P.LINUX_AARCH64, True),
        ("manylinux2010_x86_64", P.LINUX_X86_64, True),
        ("manylinux1_x86_64", P.LINUX_X86_64, True),
        ("musllinux_1_2_x86_64", P.LINUX_X86_64, False),
        ("macosx_11_0_arm64", P.MACOSX_ARM64, True),
        ("macosx_13_0_arm64", P.MACOSX_ARM64, True),
        ("macosx_14_0_arm64", P.MACOSX_ARM64, False),
        ("macosx_10_9_x86_64", P.MACOSX_X86_64, True),
        ("macosx_10_9_x86_64", P.MACOSX_ARM64, False),
        ("macosx_10_9_universal2", P.MACOSX_ARM64, True),
        ("macosx_10_9_universal2", P.MACOSX_X86_64, True),
        ("macosx_arm64", P.MACOSX_ARM64, True),
        ("win_amd64", P.WIN_AMD64, True),
        ("win_amd64", P.WIN_ARM64, False),
        ("win32", P.WIN_AMD64, False),
        ("manylinux_2_17_x86_64", P.MACOSX_X86_64, False),
    ],
)
def test_tag_covers(tag: str, platform: TargetPlatform, expected: bool) -> None:
    assert compute_tag_covers(tag, platform, **TARGETS) is expected


def test_targets_set_the_newest_acceptable_tag() -> None:
    tag = "manylinux_2_31_x86_64"
    assert compute_tag_covers(tag, P.LINUX_X86_64, linux_version=(2, 31), macosx_version=(13, 0))
    tag = "macosx_14_0_arm64"
    assert compute_tag_covers(tag, P.MACOSX_ARM64, linux_version=(2, 28), macosx_version=(14, 0))


NUMPY_WHEELS = (
    "numpy-2.3.2-cp311-cp311-macosx_14_0_arm64.whl",
    "numpy-2.3.2-cp311-cp311-macosx_10_9_x86_64.whl",
    "numpy-2.3.2-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
    "numpy-2.3.2-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    "numpy-2.3.2-cp311-cp311-win_amd64.whl",
)


def test_compute_wheel_platforms() -> None:
    assert compute_wheel_platforms(NUMPY_WHEELS, ALL_PLATFORMS, **TARGETS) == (
        P.LINUX_X86_64,
        P.LINUX_AARCH64,
        P.MACOSX_X86_64,
        P.WIN_AMD64,
    )
    assert (
        compute_wheel_platforms(["six-1.17.0-py2.py3-none-any.whl"], ALL_PLATFORMS, **TARGETS)
        == ALL_PLATFORMS
    )
    assert compute_wheel_platforms(["not-a-wheel.tar.gz"], ALL_PLATFORMS, **TARGETS) == ()
    assert compute_wheel_platforms([], ALL_PLATFORMS, **TARGETS) == ()


def test_all_wheels_available() -> None:
    packages = [
        PackageWheels("six", ("six-1.17.0-py2.py3-none-any.whl",), ALL_PLATFORMS),
        PackageWheels("dlltracer", ("dlltracer-1.0.3-cp311-cp311-win_amd64.whl",), (P.WIN_AMD64,)),
    ]
    result = compute_wheel_availability(packages, ALL_PLATFORMS, **TARGETS)
    assert result == WheelAvailability((), ALL_PLATFORMS)
    assert result.ok
    assert result.problems == ()


def test_missing_wheels() -> None:
    packages = [
        PackageWheels("numpy", NUMPY_WHEELS, ALL_PLATFORMS),
        PackageWheels("six", ("six-1.17.0-py2.py3-none-any.whl",), ALL_PLATFORMS),
        PackageWheels(
            "linux-only",
            ("linux_only-1.0-py3-none-manylinux_2_17_x86_64.whl",),
            (P.LINUX_X86_64, P.LINUX_AARCH64),
        ),
    ]
    result = compute_wheel_availability(packages, ALL_PLATFORMS, **TARGETS)
    assert not result.ok
    assert result.missing == (
        MissingWheels("numpy", (P.MACOSX_ARM64, P.WIN_ARM64)),
        MissingWheels("linux-only", (P.LINUX_AARCH64,)),
    )
    assert result.problems == (
        "numpy: no wheels available for ['macosx_arm64', 'win_arm64']",
        "linux-only: no wheels available for ['linux_aarch64']",
    )
    assert result.hint == (
        "Set platforms to ['linux_x86_64', 'macosx_x86_64', 'win_amd64'] to limit to available wheels."
    )


def test_no_platform_has_all_wheels() -> None:
    packages = [
        PackageWheels("a", ("a-1.0-py3-none-win_amd64.whl",), (P.LINUX_X86_64, P.WIN_AMD64)),
        PackageWheels(
            "b", ("b-1.0-py3-none-manylinux_2_17_x86_64.whl",), (P.LINUX_X86_64, P.WIN_AMD64)
        ),
    ]
    result = compute_wheel_availability(packages, (P.LINUX_X86_64, P.WIN_AMD64), **TARGETS)
    assert result.problems == (
        "a: no wheels available for ['linux_x86_64']",
        "b: no wheels available for ['win_amd64']",
    )
    assert result.available_platforms == ()
    assert result.hint == "There are no platforms with wheels available for all packages."


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {"name": "given-1.0-py3-none-any.whl", "url": "https://x/other.whl"},
            "given-1.0-py3-none-any.whl",
        ),
        ({"path": "../../wheels/local-1.0-py3-none-any.whl"}, "local-1.0-py3-none-any.whl"),
        ({"path": "..\\wheels\\win-1.0-py3-none-any.whl"}, "win-1.0-py3-none-any.whl"),
        (
            {
                "url": "https://download.pytorch.org/whl/cpu/torch-2.8.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=ab"
            },
            "torch-2.8.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        ),
        (
            {"url": "file:///srv/wheels/my%20pkg-1.0-py3-none-any.whl"},
            "my pkg-1.0-py3-none-any.whl",
        ),
    ],
)
def test_wheel_file_name(entry: dict[str, str], expected: str) -> None:
    assert compute_wheel_file_name(entry) == expected


def test_wheel_without_location() -> None:
    with pytest.raises(
        ValueError,
        match=r"^packages\[2\]\.wheels\[0\]: wheel entry has no 'name', 'path' or 'url'$",
    ):
        compute_wheel_file_name({"size": 3}, "packages[2].wheels[0]")
