from __future__ import annotations

import pytest

from venvstacks.spec.platforms import (
    ALL_PLATFORMS,
    LinuxTarget,
    TargetPlatform,
    parse_linux_target,
    parse_macosx_target,
    sort_platforms,
)


def test_canonical_order() -> None:
    assert [p.value for p in ALL_PLATFORMS] == [
        "linux_x86_64",
        "linux_aarch64",
        "macosx_arm64",
        "macosx_x86_64",
        "win_amd64",
        "win_arm64",
    ]
    assert sort_platforms({TargetPlatform.WIN_ARM64, TargetPlatform.LINUX_AARCH64}) == (
        TargetPlatform.LINUX_AARCH64,
        TargetPlatform.WIN_ARM64,
    )


def test_platform_families() -> None:
    assert [p for p in ALL_PLATFORMS if p.is_linux] == [
        TargetPlatform.LINUX_X86_64,
        TargetPlatform.LINUX_AARCH64,
    ]
    assert [p for p in ALL_PLATFORMS if p.is_macos] == [
        TargetPlatform.MACOSX_ARM64,
        TargetPlatform.MACOSX_X86_64,
    ]
    assert [p for p in ALL_PLATFORMS if p.is_windows] == [
        TargetPlatform.WIN_AMD64,
        TargetPlatform.WIN_ARM64,
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("glibc", LinuxTarget("glibc", (2, 28))), ("glibc@2.17", LinuxTarget("glibc", (2, 17)))],
)
def test_linux_target(text: str, expected: LinuxTarget) -> None:
    assert parse_linux_target(text) == expected
    assert str(parse_linux_target("glibc@2.34")) == "glibc@2.34"


@pytest.mark.parametrize(
    ("text", "expected"), [("14", (14, 0)), ("13.0", (13, 0)), ("10.15.7", (10, 15))]
)
def test_macosx_target(text: str, expected: tuple[int, int]) -> None:
    assert parse_macosx_target(text) == expected


@pytest.mark.parametrize("text", ["", "14.", "v14", "14.0.0.0"])
def test_bad_macosx_target(text: str) -> None:
    with pytest.raises(ValueError, match="macOS target must be a version"):
        parse_macosx_target(text)
