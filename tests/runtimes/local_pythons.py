"""Finding this machine's CPython installations (pyenv first) and packing them once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

from venvstacks.runtimes.pack import PackedRuntime, pack_python

PACK_VERSIONS = ("3.11", "3.12")


def find_local_python(minor: str) -> Path | None:
    """Return an interpreter of CPython *minor* (``3.12``) on this machine, if there is one."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        versions = subprocess.run(
            [pyenv, "versions", "--bare", "--skip-aliases"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        matching = [
            v for v in versions if v.startswith(f"{minor}.") and v.replace(".", "").isdigit()
        ]
        if matching:
            newest = max(matching, key=Version)
            prefix = subprocess.run(
                [pyenv, "prefix", newest], capture_output=True, text=True, check=True
            ).stdout.strip()
            return Path(prefix, "bin", f"python{minor}")
    found = shutil.which(f"python{minor}")
    return Path(found) if found else None


def require_local_python(minor: str) -> Path:
    """Return a CPython *minor* interpreter, or skip the test saying why (fail on CI).

    On CI (``CI`` set, as every CI service does) a missing interpreter is a failure:
    a green run with a fifth of the suite skipped would hide it.
    """
    python = find_local_python(minor)
    if python is None:
        reason = (
            f"no CPython {minor} on this machine: install it (for example "
            f"'pyenv install {minor}') or put python{minor} on PATH"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return python


def pack_into(minor: str, mirror: Path) -> PackedRuntime:
    """Pack this machine's CPython *minor* into *mirror*."""
    return pack_python(require_local_python(minor), mirror)
