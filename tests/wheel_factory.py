"""Small, real, reproducible wheels for offline locking and building tests."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

_DATE = (2020, 1, 1, 0, 0, 0)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    tag: str = "py3-none-any",
    files: Mapping[str, bytes] | None = None,
    init: bytes | None = None,
) -> Path:
    """Write ``<name>-<version>-<tag>.whl`` into *folder*: one importable package.

    *files* adds more files (paths inside the wheel); *init* replaces the
    package's ``__init__.py``.
    """
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    purelib = "true" if tag.endswith("-any") else "false"
    files = {
        f"{dist}/__init__.py": init
        if init is not None
        else f"__version__ = {version!r}\n".encode(),
        **(files or {}),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            + "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
        ).encode(),
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: venvstacks-tests\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n"
        ).encode(),
    }
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=_DATE), data)
    return wheel
