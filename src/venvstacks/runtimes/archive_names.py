"""Names of python-build-standalone style runtime archives (pure).

An ``install_only`` archive is named
``cpython-<X.Y.Z>+<build tag>-<target triple>-install_only[_stripped].tar.gz``,
e.g. ``cpython-3.11.7+20240107-x86_64-unknown-linux-gnu-install_only.tar.gz``.
The triple is what uv calls the platform: architecture (with an optional
micro-architecture level such as ``x86_64_v3``), operating system and libc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

ARCHIVE_SUFFIX = ".tar.gz"
FLAVORS = ("install_only_stripped", "install_only")

_NAME = re.compile(
    r"^cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)"
    r"\+(?P<build>[A-Za-z0-9._]+)"
    r"-(?P<triple>[a-z0-9_]+(?:-[a-z0-9_]+){2,3})"
    r"-(?P<flavor>install_only(?:_stripped)?)\.tar\.gz$"
)
_ARCH = re.compile(
    r"^(?P<family>x86_64|aarch64|i686|armv7|ppc64le|s390x|riscv64)(?:_(?P<level>v[234]))?$"
)

# Triple endings (vendor-os[-libc]) mapped to uv's (os, libc) names.
_SYSTEMS = {
    "unknown-linux-gnu": ("linux", "gnu"),
    "unknown-linux-gnueabihf": ("linux", "gnueabihf"),
    "unknown-linux-musl": ("linux", "musl"),
    "apple-darwin": ("darwin", "none"),
    "pc-windows-msvc": ("windows", "none"),
}


@dataclass(frozen=True, order=True)
class RuntimeArchiveName:
    """The parts of a runtime archive's file name."""

    version: Version
    build: str
    triple: str
    flavor: str

    @property
    def arch_family(self) -> str:
        """Architecture without micro-architecture level (``x86_64``)."""
        return self.triple.split("-", 1)[0].split("_v", 1)[0]

    @property
    def arch_variant(self) -> str | None:
        """Micro-architecture level (``v3``), or None for the baseline."""
        arch = self.triple.split("-", 1)[0]
        match = _ARCH.match(arch)
        return match["level"] if match else None

    @property
    def os(self) -> str:
        """Operating system as uv names it (``linux``, ``darwin``, ``windows``)."""
        return _SYSTEMS[self.triple.split("-", 1)[1]][0]

    @property
    def libc(self) -> str:
        """C library as uv names it (``gnu``, ``musl``, ``none``)."""
        return _SYSTEMS[self.triple.split("-", 1)[1]][1]

    @property
    def filename(self) -> str:
        """The archive's file name."""
        return render_archive_name(self.version, self.build, self.triple, self.flavor)


def render_archive_name(version: Version | str, build: str, triple: str, flavor: str) -> str:
    """Return the standard file name for a runtime archive."""
    return f"cpython-{version}+{build}-{triple}-{flavor}{ARCHIVE_SUFFIX}"


def parse_archive_name(filename: str) -> RuntimeArchiveName | None:
    """Parse a runtime archive's file name; None if it is not one we can use."""
    match = _NAME.match(filename)
    if match is None:
        return None
    arch, _, system = match["triple"].partition("-")
    if _ARCH.match(arch) is None or system not in _SYSTEMS:
        return None
    try:
        version = Version(match["version"])
    except InvalidVersion:  # pragma: no cover - the pattern only admits valid versions
        return None
    return RuntimeArchiveName(version, match["build"], match["triple"], match["flavor"])


def compute_host_triple(machine: str, system: str, libc: str) -> str:
    """Return the target triple for a host (``platform.machine()``, ``sys.platform``, libc).

    *libc* is ``glibc`` or ``musl`` on Linux (as ``platform.libc_ver`` says) and ignored elsewhere.
    """
    arch = {"amd64": "x86_64", "arm64": "aarch64", "x86": "i686"}.get(machine.lower(), machine)
    if system == "darwin":
        return f"{arch}-apple-darwin"
    if system == "win32":
        return f"{arch}-pc-windows-msvc"
    return f"{arch}-unknown-linux-{'musl' if libc == 'musl' else 'gnu'}"
