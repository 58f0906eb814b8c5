"""The stack manifest that ``venvstacks publish`` writes, as deploy reads it.

``ARTIFACT_DIR/__venvstacks__/venvstacks.json`` (or ``venvstacks-<platform>.json``
with ``--tag-outputs``) lists the published layers per kind; each entry carries
the layer's names, the layers it runs on and its archive's name, size and sha256
(reference §6.3 and §6.4).  The manifest belongs to ``publish`` and may gain fields,
so only the fields deploy uses are modelled and unknown keys are ignored.

Values that end up in file paths are checked here: a deployed folder name must
be a plain folder name, and an archive name must stay inside the artifact folder.
"""

from __future__ import annotations

import platform as platform_module
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, NonNegativeInt, ValidationError

from venvstacks.archives import ARCHIVE_FORMATS
from venvstacks.deploy.trust import check_manifest_signature
from venvstacks.errors import DeployError
from venvstacks.signing import PublicKey
from venvstacks.spec.naming import DeployedName, LayerKind

MANIFEST_DIR = "__venvstacks__"
ARCHIVE_SUFFIXES = tuple(f".{archive_format}" for archive_format in ARCHIVE_FORMATS)
_UNSAFE_NAME_CHARS = frozenset("/\\:\x00")
_HEX = frozenset("0123456789abcdef")
# sys.platform and platform.machine() spellings -> target platform (as `build` names them).
_MACHINES = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
_SYSTEMS = {"linux": "linux", "darwin": "macosx", "win32": "win"}


def _folder_name(value: str) -> str:
    if not value or value.startswith(".") or not _UNSAFE_NAME_CHARS.isdisjoint(value):
        raise ValueError(f"{value!r} is not a plain folder name")
    return value


def _archive_name(value: str) -> str:
    parts = value.split("/")
    if value.startswith("/") or "\\" in value or ":" in value or {"", ".", ".."} & set(parts):
        raise ValueError(f"{value!r} is not a path inside the artifact folder")
    if not value.endswith(ARCHIVE_SUFFIXES):
        raise ValueError(f"{value!r} is not a {', '.join(ARCHIVE_SUFFIXES)} archive")
    return value


def _sha256(value: str) -> str:
    value = value.lower()
    if len(value) != 64 or not _HEX.issuperset(value):  # noqa: PLR2004 - hex digits in a sha256
        raise ValueError(f"{value!r} is not a sha256 digest (64 hex digits)")
    return value


FolderName = Annotated[str, AfterValidator(_folder_name)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class _ArchiveHashes(_Model):
    sha256: Annotated[str, AfterValidator(_sha256)]


class _LayerEntry(_Model):
    layer_name: str
    install_target: FolderName
    runtime_layer: FolderName
    required_layers: tuple[FolderName, ...] = ()
    app_launch_module: str | None = None
    archive_name: Annotated[str, AfterValidator(_archive_name)]
    archive_size: NonNegativeInt
    archive_hashes: _ArchiveHashes


class _LayerLists(_Model):
    runtimes: tuple[_LayerEntry, ...] = ()
    frameworks: tuple[_LayerEntry, ...] = ()
    applications: tuple[_LayerEntry, ...] = ()


class _ManifestFile(_Model):
    layers: _LayerLists


@dataclass(frozen=True)
class ManifestLayer:
    """One published layer: what it is called, what it runs on, and its archive.

    ``required_layers`` are the deployed names of the frameworks it runs on, in
    ``sys.path`` order; ``runtime_layer`` names its runtime (a runtime itself).
    """

    kind: LayerKind
    layer_name: str
    install_target: DeployedName
    runtime_layer: DeployedName
    required_layers: tuple[DeployedName, ...]
    launch_module: str | None
    archive_name: str
    archive_size: int
    archive_sha256: str

    @property
    def dependencies(self) -> tuple[DeployedName, ...]:
        """The deployed names of the layers this one runs on (none for a runtime)."""
        if self.kind is LayerKind.RUNTIME:
            return ()
        return (self.runtime_layer, *self.required_layers)


@dataclass(frozen=True)
class Manifest:
    """A loaded manifest: its path and its layers (runtimes, frameworks, applications)."""

    path: Path
    artifact_dir: Path
    layers: tuple[ManifestLayer, ...]

    def find(self, install_target: str) -> ManifestLayer | None:
        """Return the layer deployed as *install_target*, if the manifest lists it."""
        return next((la for la in self.layers if la.install_target == install_target), None)


def compute_host_platform(
    system: str = sys.platform, machine: str = platform_module.machine()
) -> str | None:
    """Return this machine's target platform (``linux_x86_64``), or None if venvstacks has none."""
    prefix = _SYSTEMS.get(system)
    arch = _MACHINES.get(machine.lower())
    if prefix is None or arch is None:
        return None
    if prefix == "win":
        return "win_amd64" if arch == "x86_64" else "win_arm64"
    if prefix == "macosx" and arch == "aarch64":
        return "macosx_arm64"
    return f"{prefix}_{arch}"


def find_manifest_path(
    artifact_dir: Path, platform: str | None = None, host: str | None = None
) -> Path:
    """Return the manifest to deploy from *artifact_dir*.

    With *platform*, the manifest tagged for it.  Otherwise the untagged
    ``venvstacks.json`` if there is one, else the one tagged for *host*.
    """
    folder = artifact_dir / MANIFEST_DIR
    if platform is not None:
        path = folder / f"venvstacks-{platform}.json"
        if not path.is_file():
            raise DeployError(f"{path}: not found; publish the layers for {platform} first")
        return path
    candidates = [folder / "venvstacks.json"]
    if host is not None:
        candidates.append(folder / f"venvstacks-{host}.json")
    for path in candidates:
        if path.is_file():
            return path
    tagged = sorted(p.name for p in folder.glob("venvstacks-*.json")) if folder.is_dir() else []
    found = f" (found {', '.join(tagged)}; choose one with --platform)" if tagged else ""
    wanted = " or ".join(p.name for p in candidates)
    raise DeployError(
        f"{artifact_dir}: no {MANIFEST_DIR}/{wanted}{found}; "
        "pass the folder 'venvstacks publish' wrote the layers to"
    )


def _render_location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _render_validation_error(path: Path, exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    where = _render_location(tuple(first["loc"]))
    count = len(errors) - 1
    more = f" (and {count} more problem{'s' if count > 1 else ''})" if count else ""
    return f"{path}: {where + ': ' if where else ''}{message}{more}"


def _to_layer(kind: LayerKind, entry: _LayerEntry) -> ManifestLayer:
    return ManifestLayer(
        kind=kind,
        layer_name=entry.layer_name,
        install_target=DeployedName(entry.install_target),
        runtime_layer=DeployedName(entry.runtime_layer),
        required_layers=tuple(DeployedName(name) for name in entry.required_layers),
        launch_module=entry.app_launch_module,
        archive_name=entry.archive_name,
        archive_size=entry.archive_size,
        archive_sha256=entry.archive_hashes.sha256,
    )


def parse_manifest(path: Path, text: str) -> Manifest:
    """Validate the manifest *text* read from *path* (problems name the JSON path)."""
    try:
        data = _ManifestFile.model_validate_json(text)
    except ValidationError as exc:
        raise DeployError(_render_validation_error(path, exc)) from None
    layers: list[ManifestLayer] = []
    seen: set[str] = set()
    for kind in LayerKind:
        entries: tuple[_LayerEntry, ...] = getattr(data.layers, kind.value)
        for index, entry in enumerate(entries):
            if entry.install_target in seen:
                raise DeployError(
                    f"{path}: layers.{kind.value}[{index}].install_target: "
                    f"{entry.install_target!r} is listed more than once"
                )
            seen.add(entry.install_target)
            layers.append(_to_layer(kind, entry))
    return Manifest(path, path.parent.parent, tuple(layers))


def load_manifest(
    artifact_dir: Path, platform: str | None = None, trusted_keys: Sequence[PublicKey] = ()
) -> Manifest:
    """Find, read and validate the manifest of *artifact_dir* (see `find_manifest_path`).

    With *trusted_keys*, the manifest must carry a valid signature by one of them
    (see `venvstacks.deploy.trust`), checked on the same bytes that are parsed.
    """
    if not artifact_dir.is_dir():
        raise DeployError(
            f"{artifact_dir}: no such folder; pass the folder 'venvstacks publish' wrote the layers to"
        )
    path = find_manifest_path(artifact_dir, platform, compute_host_platform())
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DeployError(f"{path}: can't read the manifest ({exc})") from None
    if trusted_keys:
        check_manifest_signature(path, data, trusted_keys)
    return parse_manifest(path, text)
