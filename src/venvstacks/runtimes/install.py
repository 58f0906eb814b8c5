"""Installing a base runtime with ``uv python install``, from uv's list or a mirror folder.

There is one install path whatever the source: uv installs into a temporary
folder beside the destination, the result is checked and cleaned, then renamed
into place.  A failure at any point leaves the destination as it was.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from venvstacks.errors import RuntimeSourceError, ToolError
from venvstacks.fs import remove_tree, replace_tree
from venvstacks.runtimes.archive_names import compute_host_triple
from venvstacks.runtimes.cached import (
    compute_runtime_key,
    find_cached_runtime,
    link_tree,
    mark_used,
    store_runtime,
)
from venvstacks.runtimes.mirror import (
    MIRROR_ENV_VAR,
    find_mirror_archives,
    render_downloads_json,
    select_archive,
)
from venvstacks.runtimes.requests import RuntimeRequest
from venvstacks.runtimes.text_paths import neutralise_prefix
from venvstacks.tools._subprocess import Runner, run
from venvstacks.tools.uv import uv_python_install, uv_version

_NETWORK_SYMPTOMS = (
    "error sending request",
    "dns error",
    "Failed to download",
    "tcp connect error",
)
_MIRROR_HINT = (
    "pass --python-mirror DIR (or set VENVSTACKS_PYTHON_MIRROR) to install from a folder of "
    "python-build-standalone archives; 'venvstacks python pack --output-dir DIR' makes one "
    "from a local CPython"
)


@dataclass(frozen=True)
class RuntimeSource:
    """Where runtimes come from: a mirror folder, or uv's own download list when None."""

    mirror: Path | None = None


def find_runtime_source(mirror: Path | None, environ: Mapping[str, str]) -> RuntimeSource:
    """Pick the runtime source: the ``--python-mirror`` option, else the environment variable."""
    if mirror is None and environ.get(MIRROR_ENV_VAR):
        mirror = Path(environ[MIRROR_ENV_VAR]).expanduser()
    return RuntimeSource(mirror.absolute() if mirror is not None else None)


@dataclass(frozen=True)
class InstalledRuntime:
    """A runtime installed in its final folder."""

    path: Path
    version: str

    @property
    def python(self) -> Path:
        """The interpreter inside the runtime folder."""
        return self.path / compute_runtime_python()


def compute_runtime_python(platform: str = sys.platform) -> Path:
    """Interpreter path inside a python-build-standalone runtime, relative to its folder."""
    return Path("python.exe") if platform == "win32" else Path("bin", "python")


def _host_triple() -> str:
    import platform  # noqa: PLC0415 - only needed when a mirror is used

    return compute_host_triple(platform.machine(), sys.platform, platform.libc_ver()[0])


def _last_cause(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    causes = [
        line.partition(":")[2].strip()
        for line in lines
        if line.startswith(("cause:", "Caused by:"))
    ]
    errors = [line.partition(":")[2].strip() for line in lines if line.startswith("error:")]
    return (causes or errors or ["uv gave no reason"])[-1]


def _explain_failure(
    label: str, request: RuntimeRequest, archive: Path | None, output: str
) -> RuntimeSourceError:
    if archive is not None:
        return RuntimeSourceError(
            f"{label}: installing {request} from {archive} failed ({_last_cause(output)}); "
            "the archive may be corrupt or truncated: replace it (re-download or re-pack it)",
            output=output,
        )
    if any(symptom in output for symptom in _NETWORK_SYMPTOMS):
        return RuntimeSourceError(
            f"{label}: could not download {request} (no network access to python-build-standalone?); "
            + _MIRROR_HINT,
            output=output,
        )
    if "No download found" in output:
        return RuntimeSourceError(
            f"{label}: uv knows no python-build-standalone download of {request} for this platform; "
            "pick another version in python_implementation, or " + _MIRROR_HINT,
            output=output,
        )
    return RuntimeSourceError(
        f"{label}: uv could not install {request}: {_last_cause(output)}", output=output
    )


def _installed_folder(install_dir: Path) -> Path:
    # uv adds a version folder plus minor-version symlinks and bookkeeping files.
    folders = [
        p
        for p in install_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    ]
    if len(folders) != 1:
        raise RuntimeSourceError(
            f"{install_dir}: expected one installed Python, found {len(folders)}"
        )
    return folders[0]


def _python_version(python: Path, label: str, runner: Runner) -> str:
    try:
        completed = runner(
            [
                python,
                "-I",
                "-S",
                "-B",
                "-c",
                "import platform; print(platform.python_version())",
            ]
        )
    except ToolError as exc:
        raise RuntimeSourceError(
            f"{label}: the installed runtime does not run ({python.name} failed); replace the archive it came from",
            output=exc.output,
        ) from exc
    return completed.stdout.split()[0]


def remove_installer_markers(runtime: Path, version: str) -> None:
    """Remove the files uv adds that do not belong in a runtime layer.

    ``BUILD`` records uv's build tag; ``EXTERNALLY-MANAGED`` (PEP 668) would make
    installers refuse to add the runtime layer's own packages.
    """
    short = ".".join(version.split(".")[:2])
    for marker in (
        runtime / "BUILD",
        runtime / "lib" / f"python{short}" / "EXTERNALLY-MANAGED",
        runtime / "Lib" / "EXTERNALLY-MANAGED",
    ):
        marker.unlink(missing_ok=True)


def install_runtime(
    request: RuntimeRequest,
    destination: Path,
    source: RuntimeSource,
    *,
    label: str,
    cache: Path | None = None,
    runner: Runner = run,
) -> InstalledRuntime:
    """Install the runtime *request* names at *destination* (replacing what is there).

    *label* names the layer in error messages.  The installed runtime contains
    no trace of the temporary folder it was installed in.  *cache* is the
    runtime cache folder (None: no cache): a runtime from a mirror archive is
    extracted once, kept there, and hard-linked from there afterwards (see
    `venvstacks.runtimes.cached`).
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    archive = None
    if source.mirror is not None:
        archives = find_mirror_archives(source.mirror)
        archive = select_archive(
            archives, request, host_triple=_host_triple(), folder=source.mirror
        )
    entry = None
    if cache is not None and archive is not None:
        entry = cache / compute_runtime_key(archive.sha256, uv_version(runner=runner))
        linked = _link_cached(entry, destination, label, runner)
        if linked is not None:
            return linked
        cache.mkdir(parents=True, exist_ok=True)
    # Installed beside the cache entry when caching (it is moved in), else beside the destination.
    workroot = entry.parent if entry is not None else destination.parent
    with tempfile.TemporaryDirectory(dir=workroot, prefix=f".{destination.name}-install-") as tmp:
        workdir = Path(tmp)
        downloads_json = None
        if source.mirror is not None:
            downloads_json = workdir / "python-downloads.json"
            downloads_json.write_text(render_downloads_json(archives), encoding="utf-8")
        install_dir = workdir / "pythons"
        completed = uv_python_install(
            str(request), install_dir, downloads_json=downloads_json, runner=runner
        )
        archive_path = None if archive is None else archive.path
        if completed.returncode != 0:
            raise _explain_failure(label, request, archive_path, completed.output)
        installed = _installed_folder(install_dir)
        version = _python_version(installed / compute_runtime_python(), label, runner)
        remove_installer_markers(installed, version)
        neutralise_prefix(installed, installed)
        if entry is not None:
            # Stored by this build, or by a concurrent one first: either way, link it.
            store_runtime(installed, version, entry)
            linked = _link_cached(entry, destination, label, runner)
            if linked is not None:
                return linked
            if not installed.exists():
                raise RuntimeSourceError(
                    f"{label}: the runtime just stored in the cache ({entry}) does not run; "
                    "run 'venvstacks cache clean' and build again"
                )
            # The entry is unusable: take this install (it sits in the cache folder).
            staged = destination.with_name(f".{destination.name}.moving")
            remove_tree(staged)
            shutil.move(installed, staged)
            installed = staged
        replace_tree(installed, destination)
    return InstalledRuntime(destination, version)


def _link_cached(
    entry: Path, destination: Path, label: str, runner: Runner
) -> InstalledRuntime | None:
    """Hard-link the cached runtime *entry* to *destination*; None if it is missing or broken."""
    found = find_cached_runtime(entry)
    if found is None:
        return None
    runtime, _version = found
    staging = destination.with_name(f".{destination.name}.linking")
    remove_tree(staging)
    try:
        link_tree(runtime, staging)
        version = _python_version(staging / compute_runtime_python(), label, runner)
    except (OSError, RuntimeSourceError):
        # A damaged or half-removed entry: drop it and install afresh.
        remove_tree(staging)
        remove_tree(entry)
        return None
    mark_used(entry)
    replace_tree(staging, destination)
    return InstalledRuntime(destination, version)
