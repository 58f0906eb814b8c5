"""Where a layer's lock files live: ``<spec dir>/requirements/<build name>/`` (fixed, as in 0.8)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from venvstacks.spec.naming import BuildName, compute_lock_group
from venvstacks.spec.platforms import TargetPlatform

REQUIREMENTS_DIR = "requirements"


@dataclass(frozen=True)
class LockPaths:
    """The lock files of one layer."""

    folder: Path
    build_name: BuildName

    @property
    def group(self) -> str:
        """The PEP 751 group name (build name with ``.`` replaced by ``_``)."""
        return compute_lock_group(self.build_name)

    @property
    def pylock(self) -> Path:
        """``pylock.<group>.toml``: the cross-platform lock."""
        return self.folder / f"pylock.{self.group}.toml"

    @property
    def metadata(self) -> Path:
        """``pylock.<group>.meta.json``: hashes, lock version and lock time."""
        return self.folder / f"pylock.{self.group}.meta.json"

    @property
    def requirements_in(self) -> Path:
        """``requirements-<group>.in``: the declared requirements (a cache)."""
        return self.folder / f"requirements-{self.group}.in"

    @property
    def summary(self) -> Path:
        """``packages-<build name>.txt``: the human-readable package summary."""
        return self.folder / f"packages-{self.build_name}.txt"

    def platform_view(self, platform: TargetPlatform) -> Path:
        """``requirements-<group>-<platform>.txt``: the hash-pinned view for one platform."""
        return self.folder / f"requirements-{self.group}-{platform}.txt"


def compute_lock_paths(spec_dir: Path, build_name: BuildName) -> LockPaths:
    """Return the lock files of the layer *build_name* in the stack at *spec_dir*."""
    return LockPaths(spec_dir / REQUIREMENTS_DIR / build_name, build_name)
