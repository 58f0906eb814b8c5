"""``venvstacks python pack``: turn a local CPython into a relocatable runtime archive.

The archive has the python-build-standalone ``install_only`` layout (one top
folder ``python/``) so uv can install it from a mirror folder like an official
one.  Only Linux is supported: there, RUNPATHs are rewritten with patchelf and
script shebangs become relative trampolines.  Build-machine paths in text files
(``_sysconfigdata``, ``Makefile``, pkg-config files) are replaced by ``/install``,
the placeholder prefix of official archives, which uv rewrites on installation.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from venvstacks.archives import iter_tree, write_tar_gz
from venvstacks.errors import RuntimeSourceError, ToolError
from venvstacks.runtimes.archive_names import compute_host_triple, render_archive_name
from venvstacks.runtimes.elf import relocate_runpaths
from venvstacks.runtimes.text_paths import (
    iter_text_files_containing,
    neutralise_prefix,
    write_keeping_mtime,
)
from venvstacks.tools._subprocess import Runner, run

# Programs CPython itself installs into bin/; anything else there came from site-packages.
_OWN_PROGRAMS = re.compile(r"^(python|pydoc|idle|2to3)")

_INSPECT = """\
import json, platform, sys, sysconfig
print(json.dumps({
    "implementation": sys.implementation.name,
    "version": platform.python_version(),
    "base_prefix": sys.base_prefix,
    "machine": platform.machine(),
    "platform": sys.platform,
    "libc": platform.libc_ver()[0],
    "ldversion": sysconfig.get_config_var("LDVERSION") or "",
    "shared": bool(sysconfig.get_config_var("Py_ENABLE_SHARED")),
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
}))
"""


@dataclass(frozen=True)
class LocalPython:
    """What a local interpreter reports about itself."""

    version: str
    prefix: Path
    triple: str

    @property
    def short_version(self) -> str:
        """``X.Y``."""
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class PackedRuntime:
    """The result of packing: where the archive went and what it holds."""

    archive: Path
    python: LocalPython
    relocated_elf_files: int


def inspect_python(python: Path, *, runner: Runner = run) -> LocalPython:
    """Ask *python* (an interpreter, or a prefix containing ``bin/python3``) about itself."""
    if python.is_dir():
        python = python / "bin" / "python3"
    if not python.exists():
        raise RuntimeSourceError(
            f"{python}: no such interpreter; pass --python the path of a CPython executable or installation prefix"
        )
    try:
        completed = runner([python, "-I", "-S", "-c", _INSPECT])
        facts = json.loads(completed.stdout)
    except (ToolError, ValueError) as exc:
        raise RuntimeSourceError(
            f"{python}: not a working Python interpreter; pass --python a CPython executable"
        ) from exc
    if facts["implementation"] != "cpython":
        raise RuntimeSourceError(
            f"{python}: {facts['implementation']} can't be packed; only CPython installations can"
        )
    if facts["gil_disabled"]:
        raise RuntimeSourceError(
            f"{python}: free-threaded builds can't be packed yet; pack a default (GIL) build"
        )
    prefix = Path(facts["base_prefix"])
    if not (
        prefix / "lib" / f"python{'.'.join(facts['version'].split('.')[:2])}" / "os.py"
    ).exists():
        raise RuntimeSourceError(
            f"{prefix}: not a CPython installation prefix (no lib/pythonX.Y/os.py)"
        )
    triple = compute_host_triple(facts["machine"], facts["platform"], facts["libc"])
    return LocalPython(facts["version"], prefix, triple)


def _is_excluded(relative: Path, short_version: str) -> bool:
    parts = relative.parts
    if "__pycache__" in parts:
        return True
    stdlib = ("lib", f"python{short_version}")
    if parts[:3] == (*stdlib, "test"):
        return True
    if parts[:3] == (*stdlib, "site-packages") and parts[3:] not in {(), ("README.txt",)}:
        return True
    if relative.name.startswith("libpython") and relative.suffix == ".a":
        return True
    return (
        parts[:1] == ("bin",)
        and relative.parent.name == "bin"
        and not _OWN_PROGRAMS.match(relative.name)
    )


def stage_prefix(prefix: Path, staging: Path, short_version: str) -> None:
    """Copy the parts of *prefix* that belong in a runtime archive to *staging*.

    Relative symlinks are kept; absolute ones into the prefix become relative;
    ones leading out of the prefix are replaced by copies of what they point to.
    """
    staging.mkdir()
    for source in iter_tree(prefix):
        relative = source.relative_to(prefix)
        if _is_excluded(relative, short_version):
            continue
        target = staging / relative
        if not target.parent.exists():  # parent was excluded
            continue
        content = source
        if source.is_symlink():
            link = source.readlink()
            resolved = (source.parent / link).resolve()
            if not link.is_absolute() and resolved.is_relative_to(prefix.resolve()):
                target.symlink_to(link)
                continue
            if resolved.is_relative_to(prefix.resolve()):
                target.symlink_to(os.path.relpath(resolved, source.parent.resolve()))
                continue
            content = resolved
        if content.is_dir():
            target.mkdir()
        elif content.is_file():
            shutil.copy2(content, target)


def _trampoline(interpreter_name: str) -> bytes:
    # A shell/Python polyglot: sh runs the first line's `exec`; Python sees a string literal.
    return (
        "#!/bin/sh\n"
        f"""'''exec' "$(dirname -- "$(readlink -f -- "$0")")/{interpreter_name}" "$0" "$@"\n"""
        "' '''\n"
    ).encode()


def rewrite_text_files(staging: Path, old_prefix: Path) -> None:
    """Replace shebangs and build-machine paths in the staged (non-ELF) text files."""
    shebang = b"#!" + os.fsencode(old_prefix) + b"/bin/python"
    for path, content in list(iter_text_files_containing(staging, shebang)):
        first, _, rest = content.partition(b"\n")
        if first.startswith(shebang):
            interpreter = first.rsplit(b"/", 1)[-1].split()[0].decode()
            write_keeping_mtime(path, _trampoline(interpreter) + rest)
    neutralise_prefix(staging, old_prefix)


def _restore_mtimes(staging: Path, prefix: Path) -> None:
    # Every staged entry (patched files, symlinks, folders) gets its source's mtime
    # back, so packing the same installation twice gives the same bytes.
    for path in [staging, *iter_tree(staging)]:
        st = (prefix / path.relative_to(staging)).lstat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def compute_mtime_clamp() -> int | None:
    """Return ``SOURCE_DATE_EPOCH`` as an int, if it is set."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else None


def pack_python(
    python: Path, output_dir: Path, *, build_tag: str = "local", runner: Runner = run
) -> PackedRuntime:
    """Pack the CPython installation behind *python* into *output_dir*."""
    if sys.platform != "linux":
        raise RuntimeSourceError(
            "'venvstacks python pack' works on Linux only for now; on macOS and Windows use python-build-standalone archives in the mirror folder"
        )
    local = inspect_python(python, runner=runner)
    if not re.fullmatch(r"[A-Za-z0-9._]+", build_tag):
        raise RuntimeSourceError(
            f"invalid build tag {build_tag!r}; use letters, digits, '.' and '_' only"
        )
    name = render_archive_name(local.version, build_tag, local.triple, "install_only")
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".pack-") as tmp:
        staging = Path(tmp) / "python"
        stage_prefix(local.prefix, staging, local.short_version)
        relocated = relocate_runpaths(staging, local.prefix, runner=runner)
        rewrite_text_files(staging, local.prefix)
        _restore_mtimes(staging, local.prefix)
        archive = output_dir / name
        write_tar_gz(staging, archive, root_name="python", mtime_clamp=compute_mtime_clamp())
    return PackedRuntime(archive, local, relocated)
