"""A local folder of runtime archives, offered to uv as a Python downloads list.

uv installs Pythons from a JSON list of downloads (``--python-downloads-json-url``).
For a mirror folder we write that list ourselves: one entry per usable archive,
with a ``file://`` URL and the sha256 we computed, so uv verifies what it unpacks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from venvstacks.errors import RuntimeSourceError
from venvstacks.runtimes.archive_names import FLAVORS, RuntimeArchiveName, parse_archive_name
from venvstacks.runtimes.requests import RuntimeRequest

MIRROR_ENV_VAR = "VENVSTACKS_PYTHON_MIRROR"


@dataclass(frozen=True)
class MirrorArchive:
    """One runtime archive found in a mirror folder."""

    path: Path
    name: RuntimeArchiveName
    sha256: str


def find_mirror_archives(folder: Path) -> tuple[MirrorArchive, ...]:
    """List the usable runtime archives in *folder* (not recursive), hashing each one.

    For each version and platform only the newest build is kept, and of that the
    stripped archive when both flavors are present (smaller, same behaviour).
    """
    if not folder.is_dir():
        raise RuntimeSourceError(
            f"python mirror {folder}: not a folder; pass --python-mirror a folder of "
            "python-build-standalone 'install_only' archives (fill one with 'venvstacks python pack')"
        )
    best: dict[tuple[object, ...], RuntimeArchiveName] = {}
    paths: dict[RuntimeArchiveName, Path] = {}
    for path in sorted(folder.iterdir()):
        name = parse_archive_name(path.name)
        if name is None or not path.is_file():
            continue
        key = (name.version, name.triple)
        rank = (name.build, FLAVORS[::-1].index(name.flavor))
        current = best.get(key)
        if current is None or rank > (current.build, FLAVORS[::-1].index(current.flavor)):
            best[key] = name
        paths[name] = path
    return tuple(
        MirrorArchive(paths[name], name, _sha256(paths[name])) for name in sorted(best.values())
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def compute_downloads_entries(archives: Iterable[MirrorArchive]) -> dict[str, dict[str, object]]:
    """Return uv's downloads-list entries (keyed as uv keys them) for *archives*."""
    entries: dict[str, dict[str, object]] = {}
    for archive in archives:
        name = archive.name
        version = name.version
        arch = name.arch_family + (f"_{name.arch_variant}" if name.arch_variant else "")
        key = f"cpython-{version}-{name.os}-{arch}-{name.libc}"
        prerelease = "".join(str(part) for part in version.pre) if version.pre else ""
        entries[key] = {
            "name": "cpython",
            "arch": {"family": name.arch_family, "variant": name.arch_variant},
            "os": name.os,
            "libc": name.libc,
            "major": version.major,
            "minor": version.minor,
            "patch": version.micro,
            "prerelease": prerelease,
            "url": archive.path.resolve().as_uri(),
            "sha256": archive.sha256,
            "variant": None,
            "build": name.build,
        }
    return entries


def render_downloads_json(archives: Iterable[MirrorArchive]) -> str:
    """Render the JSON document uv reads with ``--python-downloads-json-url``."""
    return json.dumps(compute_downloads_entries(archives), indent=2, sort_keys=True) + "\n"


def select_archive(
    archives: Iterable[MirrorArchive], request: RuntimeRequest, *, host_triple: str, folder: Path
) -> MirrorArchive:
    """Return the archive uv will install for *request* on this host, or explain why none fits."""
    for_host = [a for a in archives if _same_platform(a.name.triple, host_triple)]
    matching = [a for a in for_host if request.matches(a.name.version)]
    if matching:
        return max(matching, key=lambda a: (a.name.version, a.name.build))
    available = ", ".join(sorted({str(a.name.version) for a in for_host}, key=_version_key))
    hint = f"it has {available}" if available else "it has none for this platform"
    raise RuntimeSourceError(
        f"python mirror {folder}: no {request} archive for {host_triple} ({hint}); "
        f"add one, e.g. with 'venvstacks python pack --output-dir {folder}'"
    )


def _same_platform(triple: str, host_triple: str) -> bool:
    # x86_64_v3 archives run on an x86_64 host that supports them; uv checks the level.
    arch, _, system = triple.partition("-")
    host_arch, _, host_system = host_triple.partition("-")
    return system == host_system and arch.split("_v", 1)[0] == host_arch


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())
