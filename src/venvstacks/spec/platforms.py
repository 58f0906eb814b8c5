"""Target platforms and the per-platform targets (glibc, macOS) a layer can set.

Pure values and parsers only; the messages returned here are embedded in spec
problems by `venvstacks.spec.load`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class TargetPlatform(StrEnum):
    """A platform a layer can be locked for (and built on)."""

    # Definition order is the canonical order used in messages and outputs.
    LINUX_X86_64 = "linux_x86_64"
    LINUX_AARCH64 = "linux_aarch64"
    MACOSX_ARM64 = "macosx_arm64"
    MACOSX_X86_64 = "macosx_x86_64"
    WIN_AMD64 = "win_amd64"
    WIN_ARM64 = "win_arm64"

    @property
    def is_linux(self) -> bool:
        """Whether this is a Linux (glibc) platform."""
        return self.value.startswith("linux_")

    @property
    def is_macos(self) -> bool:
        """Whether this is a macOS platform."""
        return self.value.startswith("macosx_")

    @property
    def is_windows(self) -> bool:
        """Whether this is a Windows platform."""
        return self.value.startswith("win_")


ALL_PLATFORMS: tuple[TargetPlatform, ...] = tuple(TargetPlatform)


def sort_platforms(
    platforms: set[TargetPlatform] | frozenset[TargetPlatform],
) -> tuple[TargetPlatform, ...]:
    """Return *platforms* in the canonical order."""
    return tuple(p for p in ALL_PLATFORMS if p in platforms)


def render_platform_list(platforms: tuple[TargetPlatform, ...] | list[TargetPlatform]) -> str:
    """Render platforms for a message: ``'linux_x86_64', 'win_amd64'``."""
    return ", ".join(f"'{p.value}'" for p in platforms)


DEFAULT_LINUX_TARGET = "glibc@2.28"

_LIBC_VERSION = re.compile(r"\d+\.\d+")
_MACOS_VERSION = re.compile(r"\d+(\.\d+){0,2}")


@dataclass(frozen=True)
class LinuxTarget:
    """The oldest glibc a layer's Linux wheels may need (``glibc@2.28``)."""

    libc: str
    version: tuple[int, int]

    def __str__(self) -> str:
        return f"{self.libc}@{self.version[0]}.{self.version[1]}"


def parse_linux_target(text: str) -> LinuxTarget:
    """Parse ``glibc`` or ``glibc@X.Y``; raise `ValueError` with a user-facing message."""
    libc, sep, version = text.partition("@")
    if libc != "glibc":
        raise ValueError(
            f"Linux libc variant must be one of ['glibc'], not {libc!r}; "
            f"use 'glibc' or 'glibc@X.Y' such as {DEFAULT_LINUX_TARGET!r}"
        )
    if not sep:
        version = DEFAULT_LINUX_TARGET.partition("@")[2]
    if not _LIBC_VERSION.fullmatch(version):
        raise ValueError(
            f"Linux libc version must be of the form 'X.Y', not {version!r}; "
            f"use for example {DEFAULT_LINUX_TARGET!r}"
        )
    major, minor = version.split(".")
    return LinuxTarget(libc, (int(major), int(minor)))


def parse_macosx_target(text: str) -> tuple[int, int]:
    """Parse a minimum macOS version (``14``, ``13.0``); return its first two components."""
    if not _MACOS_VERSION.fullmatch(text):
        raise ValueError(f"macOS target must be a version such as '14' or '13.0', not {text!r}")
    parts = [int(part) for part in text.split(".")]
    return (parts[0], parts[1] if len(parts) > 1 else 0)
