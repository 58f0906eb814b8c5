"""What a runtime layer asks for: ``cpython@3.11.7`` (exact) or ``cpython@3.11`` (newest 3.11)."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

_MINOR_ONLY = 2  # 'X.Y'


@dataclass(frozen=True)
class RuntimeRequest:
    """A runtime implementation and version, as written in ``python_implementation``."""

    implementation: str
    version: str

    def __str__(self) -> str:
        return f"{self.implementation}@{self.version}"

    @property
    def is_exact(self) -> bool:
        """True when a full X.Y.Z version was asked for."""
        return len(self.version.split(".")) > _MINOR_ONLY

    def matches(self, version: Version) -> bool:
        """Whether *version* satisfies this request (prereleases only when named exactly)."""
        if self.is_exact:
            return version == Version(self.version)
        return (
            not version.is_prerelease and version.release[:2] == Version(self.version).release[:2]
        )


def parse_runtime_request(python_implementation: str) -> RuntimeRequest:
    """Split a validated ``python_implementation`` value into its parts."""
    implementation, _, version = python_implementation.partition("@")
    return RuntimeRequest(implementation.lower(), version)
