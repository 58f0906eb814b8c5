"""Environment markers per target platform, marker text in locks, uv platform names.

Locks are cross-platform, so a package's marker is evaluated against an
*emulated* marker environment for each target platform rather than the build
machine's (reference §4.7).  Packages that a lower layer provides keep their
marker with the never-true clause ``sys_platform == 'from_lower_layer'`` added,
so installers skip them (§4.2); lock hashes strip that clause again (§4.4).
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.markers import Marker

from venvstacks.spec.platforms import LinuxTarget, TargetPlatform

# `implementation_name` -> `platform_python_implementation`.
IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy"}

# os_name, sys_platform, platform_system, platform_machine (Windows spells AMD64).
_PLATFORM_VALUES: dict[TargetPlatform, tuple[str, str, str, str]] = {
    TargetPlatform.LINUX_X86_64: ("posix", "linux", "Linux", "x86_64"),
    TargetPlatform.LINUX_AARCH64: ("posix", "linux", "Linux", "aarch64"),
    TargetPlatform.MACOSX_ARM64: ("posix", "darwin", "Darwin", "arm64"),
    TargetPlatform.MACOSX_X86_64: ("posix", "darwin", "Darwin", "x86_64"),
    TargetPlatform.WIN_AMD64: ("nt", "win32", "Windows", "AMD64"),
    TargetPlatform.WIN_ARM64: ("nt", "win32", "Windows", "arm64"),
}

SHARED_MARKER_VALUE = "from_lower_layer"
SHARED_MARKER_CLAUSE = f"sys_platform == '{SHARED_MARKER_VALUE}'"
_SHARED_SUFFIX = f" and {SHARED_MARKER_CLAUSE}"


def compute_marker_environment(
    platform: TargetPlatform, python_version: str, implementation: str = "cpython"
) -> dict[str, str]:
    """Return the marker environment of *platform* for a runtime.

    *python_version* is the runtime's full version (``3.11.7``, ``3.13.0rc1``);
    *implementation* is ``cpython`` or ``pypy``.  ``platform_release``,
    ``platform_version`` and ``implementation_version`` can't be known for a
    target platform; they are empty rather than the build machine's values,
    so a lock never depends on the machine it was made on.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(
            f"unknown Python implementation {implementation!r}; "
            f"expected one of {list(IMPLEMENTATIONS)}"
        )
    os_name, sys_platform, platform_system, platform_machine = _PLATFORM_VALUES[platform]
    return {
        "implementation_name": implementation,
        "implementation_version": "",
        "os_name": os_name,
        "platform_machine": platform_machine,
        "platform_python_implementation": IMPLEMENTATIONS[implementation],
        "platform_release": "",
        "platform_system": platform_system,
        "platform_version": "",
        "python_full_version": python_version,
        "python_version": ".".join(python_version.split(".")[:2]),
        "sys_platform": sys_platform,
    }


def evaluate_marker(
    marker: Marker,
    platform: TargetPlatform,
    python_version: str,
    implementation: str = "cpython",
) -> bool:
    """Return whether *marker* holds on *platform* for the given runtime."""
    return marker.evaluate(compute_marker_environment(platform, python_version, implementation))


def compute_marker_platforms(
    marker: Marker | None,
    platforms: Iterable[TargetPlatform],
    python_version: str,
    implementation: str = "cpython",
) -> tuple[TargetPlatform, ...]:
    """Return the *platforms* (in the given order) where *marker* holds; all of them if ``None``."""
    return tuple(
        platform
        for platform in platforms
        if marker is None or evaluate_marker(marker, platform, python_version, implementation)
    )


def render_marker(marker: Marker) -> str:
    """Return marker text as locks store it: normalised by `packaging`, single-quoted."""
    # Single quotes keep the text free of escapes inside TOML basic strings.
    return str(marker).replace('"', "'")


def _strip_outer_parentheses(text: str) -> str:
    # "(a or b)" -> "a or b", but "(a) or (b)" stays; quoted values may hold parentheses.
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    quote = ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0 and index < len(text) - 1:
                return text
    return text[1:-1]


def parse_locked_marker(text: str) -> tuple[str, bool]:
    """Split a pylock ``marker`` into its normalised text and whether it marks a shared package.

    ``(sys_platform == 'win32') and sys_platform == 'from_lower_layer'`` gives
    ``("sys_platform == 'win32'", True)``; an unconditional shared package gives
    ``("", True)``.  Raises `ValueError` for markers that aren't valid or that
    hold the shared clause anywhere but at the end.
    """
    rendered = render_marker(Marker(text))
    if SHARED_MARKER_VALUE not in rendered:
        return rendered, False
    if rendered == SHARED_MARKER_CLAUSE:
        return "", True
    body = rendered.removesuffix(_SHARED_SUFFIX)
    if body == rendered or SHARED_MARKER_VALUE in body:
        raise ValueError(
            f"unexpected {SHARED_MARKER_VALUE!r} clause in marker {text!r}; "
            f"it can only end a marker as ' and {SHARED_MARKER_CLAUSE}'"
        )
    return render_marker(Marker(_strip_outer_parentheses(body))), True


def render_shared_marker(marker_text: str) -> str:
    """Return the never-true marker that makes installers skip a package a lower layer provides."""
    if not marker_text:
        return SHARED_MARKER_CLAUSE
    return f"({marker_text}){_SHARED_SUFFIX}"


# uv `--python-platform` spellings (uv >= 0.8.12 for the Windows ARM64 one).
_UV_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def compute_uv_python_platform(platform: TargetPlatform, linux_target: LinuxTarget) -> str:
    """Return uv's ``--python-platform`` name for *platform* (``x86_64-manylinux_2_28``).

    *linux_target* only matters for Linux platforms, whose glibc version it sets.
    """
    arch = _UV_ARCHES[platform.value.partition("_")[2]]
    if platform.is_linux:
        major, minor = linux_target.version
        return f"{arch}-manylinux_{major}_{minor}"
    if platform.is_macos:
        return f"{arch}-apple-darwin"
    return f"{arch}-pc-windows-msvc"


def compute_candidate_versions(python_version: str) -> tuple[str, ...]:
    """Return the full versions to evaluate markers with for a runtime request.

    ``cpython@3.11.7`` pins the version; ``cpython@3.11`` may be any 3.11.x, so
    markers are evaluated for the first and for any later maintenance release
    (a ``python_full_version >= '3.11.4'`` marker holds for some 3.11 runtimes).
    """
    if python_version.count(".") >= 2:  # noqa: PLR2004 - X.Y.Z
        return (python_version,)
    return (f"{python_version}.0", f"{python_version}.999")
