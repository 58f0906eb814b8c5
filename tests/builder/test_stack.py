from __future__ import annotations

import pytest

from venvstacks.builder.stack import compute_host_platform
from venvstacks.errors import BuildError
from venvstacks.spec.platforms import TargetPlatform


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [
        ("linux", "x86_64", TargetPlatform.LINUX_X86_64),
        ("linux", "aarch64", TargetPlatform.LINUX_AARCH64),
        ("linux", "arm64", TargetPlatform.LINUX_AARCH64),
        ("linux", "AMD64", TargetPlatform.LINUX_X86_64),
        ("darwin", "x86_64", TargetPlatform.MACOSX_X86_64),
        ("darwin", "arm64", TargetPlatform.MACOSX_ARM64),
        ("darwin", "aarch64", TargetPlatform.MACOSX_ARM64),
        ("win32", "AMD64", TargetPlatform.WIN_AMD64),
        ("win32", "x86_64", TargetPlatform.WIN_AMD64),
        ("win32", "ARM64", TargetPlatform.WIN_ARM64),
        ("win32", "aarch64", TargetPlatform.WIN_ARM64),
    ],
)
def test_compute_host_platform(system: str, machine: str, expected: TargetPlatform) -> None:
    assert compute_host_platform(system, machine) is expected


@pytest.mark.parametrize(
    ("system", "machine"),
    [("linux", "ppc64le"), ("win32", "x86"), ("darwin", "i386"), ("freebsd14", "amd64")],
)
def test_machines_that_are_no_target_platform_are_refused(system: str, machine: str) -> None:
    with pytest.raises(BuildError) as caught:
        compute_host_platform(system, machine)
    assert str(caught.value) == (
        f"can't build layers on this machine ({system} {machine}); layers are built only on "
        "'linux_x86_64', 'linux_aarch64', 'macosx_arm64', 'macosx_x86_64', 'win_amd64', "
        "'win_arm64'"
    )
