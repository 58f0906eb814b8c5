from __future__ import annotations

import pytest
from packaging.markers import Marker

from venvstacks.lock.markers import (
    SHARED_MARKER_CLAUSE,
    compute_marker_environment,
    compute_marker_platforms,
    compute_uv_python_platform,
    evaluate_marker,
    parse_locked_marker,
    render_marker,
    render_shared_marker,
)
from venvstacks.spec.platforms import ALL_PLATFORMS, TargetPlatform, parse_linux_target

P = TargetPlatform


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (P.LINUX_X86_64, ("posix", "linux", "Linux", "x86_64")),
        (P.LINUX_AARCH64, ("posix", "linux", "Linux", "aarch64")),
        (P.MACOSX_ARM64, ("posix", "darwin", "Darwin", "arm64")),
        (P.MACOSX_X86_64, ("posix", "darwin", "Darwin", "x86_64")),
        (P.WIN_AMD64, ("nt", "win32", "Windows", "AMD64")),
        (P.WIN_ARM64, ("nt", "win32", "Windows", "arm64")),
    ],
)
def test_platform_values(platform: TargetPlatform, expected: tuple[str, ...]) -> None:
    env = compute_marker_environment(platform, "3.11.7")
    keys = ("os_name", "sys_platform", "platform_system", "platform_machine")
    assert tuple(env[key] for key in keys) == expected


def test_full_cpython_environment() -> None:
    assert compute_marker_environment(P.WIN_AMD64, "3.13.0rc1") == {
        "implementation_name": "cpython",
        "implementation_version": "",
        "os_name": "nt",
        "platform_machine": "AMD64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Windows",
        "platform_version": "",
        "python_full_version": "3.13.0rc1",
        "python_version": "3.13",
        "sys_platform": "win32",
    }


def test_pypy_environment() -> None:
    env = compute_marker_environment(P.LINUX_X86_64, "3.11.13", "pypy")
    assert env["implementation_name"] == "pypy"
    assert env["platform_python_implementation"] == "PyPy"
    assert env["python_version"] == "3.11"


def test_unknown_implementation() -> None:
    with pytest.raises(
        ValueError,
        match=r"^unknown Python implementation 'jython'; expected one of \['cpython', 'pypy'\]$",
    ):
        compute_marker_environment(P.LINUX_X86_64, "3.11.7", "jython")


def test_build_machine_values_never_leak() -> None:
    # packaging fills keys we leave out from the running interpreter.
    marker = Marker(
        "platform_release == '' and platform_version == '' and implementation_version == ''"
    )
    assert all(evaluate_marker(marker, platform, "3.12.1") for platform in ALL_PLATFORMS)


def test_evaluate_marker() -> None:
    marker = Marker("sys_platform == 'linux' and platform_machine == 'aarch64'")
    assert evaluate_marker(marker, P.LINUX_AARCH64, "3.11.7")
    assert not evaluate_marker(marker, P.LINUX_X86_64, "3.11.7")
    versions = Marker("python_full_version >= '3.11.5' and implementation_name == 'cpython'")
    assert evaluate_marker(versions, P.WIN_AMD64, "3.11.5")
    assert not evaluate_marker(versions, P.WIN_AMD64, "3.11.4")
    assert not evaluate_marker(versions, P.WIN_AMD64, "3.11.5", "pypy")


def test_compute_marker_platforms() -> None:
    windows = Marker("platform_system == 'Windows'")
    assert compute_marker_platforms(windows, ALL_PLATFORMS, "3.11.7") == (P.WIN_AMD64, P.WIN_ARM64)
    arm = Marker("platform_machine == 'arm64' or platform_machine == 'aarch64'")
    assert compute_marker_platforms(arm, ALL_PLATFORMS, "3.11.7") == (
        P.LINUX_AARCH64,
        P.MACOSX_ARM64,
        P.WIN_ARM64,
    )
    assert compute_marker_platforms(None, (P.WIN_ARM64, P.LINUX_X86_64), "3.11.7") == (
        P.WIN_ARM64,
        P.LINUX_X86_64,
    )
    assert (
        compute_marker_platforms(Marker("python_version < '3.11'"), ALL_PLATFORMS, "3.11.7") == ()
    )


def test_render_marker_uses_single_quotes() -> None:
    assert render_marker(Marker('sys_platform=="win32"')) == "sys_platform == 'win32'"
    assert (
        render_marker(
            Marker('(os_name == "nt" or sys_platform == "darwin") and python_version<"3.12"')
        )
        == "(os_name == 'nt' or sys_platform == 'darwin') and python_version < '3.12'"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('sys_platform == "win32"', ("sys_platform == 'win32'", False)),
        ("sys_platform == 'from_lower_layer'", ("", True)),
        ('sys_platform == "from_lower_layer"', ("", True)),
        (
            "(sys_platform == 'win32') and sys_platform == 'from_lower_layer'",
            ("sys_platform == 'win32'", True),
        ),
        (
            "(sys_platform == 'win32' or os_name == 'posix') and sys_platform == 'from_lower_layer'",
            ("sys_platform == 'win32' or os_name == 'posix'", True),
        ),
        (
            "(sys_platform == 'linux' and platform_machine == 'x86_64') and sys_platform == 'from_lower_layer'",
            ("sys_platform == 'linux' and platform_machine == 'x86_64'", True),
        ),
        (
            "((os_name == 'nt' or os_name == 'posix') and python_version < '3.12') and sys_platform == 'from_lower_layer'",
            ("(os_name == 'nt' or os_name == 'posix') and python_version < '3.12'", True),
        ),
        (
            "((os_name == 'nt') or (os_name == 'posix')) and sys_platform == 'from_lower_layer'",
            ("os_name == 'nt' or os_name == 'posix'", True),
        ),
        (
            "(platform_version == '(x)') and sys_platform == 'from_lower_layer'",
            ("platform_version == '(x)'", True),
        ),
    ],
)
def test_parse_locked_marker(text: str, expected: tuple[str, bool]) -> None:
    assert parse_locked_marker(text) == expected


def test_shared_markers_round_trip() -> None:
    for marker in ["", "sys_platform == 'win32'", "os_name == 'nt' or sys_platform == 'darwin'"]:
        assert parse_locked_marker(render_shared_marker(marker)) == (marker, True)
    assert render_shared_marker("") == SHARED_MARKER_CLAUSE == "sys_platform == 'from_lower_layer'"
    assert (
        render_shared_marker("sys_platform == 'win32'")
        == "(sys_platform == 'win32') and sys_platform == 'from_lower_layer'"
    )


def test_misplaced_shared_clause() -> None:
    with pytest.raises(ValueError, match=r"^unexpected 'from_lower_layer' clause in marker"):
        parse_locked_marker("sys_platform == 'from_lower_layer' and os_name == 'nt'")


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (P.LINUX_X86_64, "x86_64-manylinux_2_28"),
        (P.LINUX_AARCH64, "aarch64-manylinux_2_28"),
        (P.MACOSX_ARM64, "aarch64-apple-darwin"),
        (P.MACOSX_X86_64, "x86_64-apple-darwin"),
        (P.WIN_AMD64, "x86_64-pc-windows-msvc"),
        (P.WIN_ARM64, "aarch64-pc-windows-msvc"),
    ],
)
def test_uv_python_platform(platform: TargetPlatform, expected: str) -> None:
    assert compute_uv_python_platform(platform, parse_linux_target("glibc@2.28")) == expected


def test_uv_python_platform_follows_linux_target() -> None:
    target = parse_linux_target("glibc@2.17")
    assert compute_uv_python_platform(P.LINUX_X86_64, target) == "x86_64-manylinux_2_17"
    assert compute_uv_python_platform(P.LINUX_AARCH64, target) == "aarch64-manylinux_2_17"
    assert compute_uv_python_platform(P.WIN_ARM64, target) == "aarch64-pc-windows-msvc"
