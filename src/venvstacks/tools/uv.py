"""The one module that knows uv's command line.

Every uv call runs the uv installed with venvstacks, with ``--no-config`` and an
environment stripped of the user's uv/pip settings, so results depend only on
the stack's own configuration.  Settings that say *how to reach* the network
(credentials, proxies, certificates, timeouts, mirrors, the cache folder) are
kept, so private indexes and corporate networks still work.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from venvstacks.tools._subprocess import Completed, Runner, run

# uv variables that only say how to reach the network or where to cache.
_KEPT_UV_VARIABLES = frozenset(
    {
        "UV_CACHE_DIR",
        "UV_CONCURRENT_DOWNLOADS",
        "UV_HTTP_RETRIES",
        "UV_HTTP_TIMEOUT",
        "UV_INSECURE_HOST",
        "UV_NATIVE_TLS",
        "UV_OFFLINE",
        "UV_PYTHON_INSTALL_MIRROR",
        "UV_SYSTEM_CERTS",
    }
)
# Per-index credentials: UV_INDEX_<NAME>_USERNAME / _PASSWORD.
_INDEX_CREDENTIALS = re.compile(r"^UV_INDEX_[A-Z0-9_]+_(USERNAME|PASSWORD)$")
# Variables that would make uv or Python look at something other than what we name.
_DROPPED = frozenset(
    {"VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE"}
)


def find_uv() -> Path:
    """Return the uv executable installed with venvstacks."""
    from uv import find_uv_bin  # noqa: PLC0415 - the uv package is only needed when uv runs

    return Path(find_uv_bin())


def compute_uv_environment(
    base: Mapping[str, str], config_home: Path | None = None
) -> dict[str, str]:
    """Return *base* without the user's uv/pip configuration (network settings kept).

    Commands that read a project's ``[tool.uv]`` table can't use ``--no-config``
    (it hides that table too), so for them *config_home* names an empty folder
    that replaces the user and system configuration folders uv searches.
    """
    env = {}
    for key, value in base.items():
        if key in _DROPPED or key.startswith("PIP_"):
            continue
        if key.startswith("UV_") and not (
            key in _KEPT_UV_VARIABLES or _INDEX_CREDENTIALS.match(key)
        ):
            continue
        env[key] = value
    # Interpreters uv queries must not leave build-folder paths behind in .pyc files.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if config_home is None:
        env["UV_NO_CONFIG"] = "1"
    else:
        env["XDG_CONFIG_HOME"] = env["XDG_CONFIG_DIRS"] = str(config_home)
    env["UV_NO_PROGRESS"] = "1"
    env["UV_PYTHON_INSTALL_BIN"] = "0"
    env["UV_PYTHON_INSTALL_REGISTRY"] = "0"
    return env


def _uv(
    args: list[str | Path],
    *,
    runner: Runner,
    failure: str,
    check: bool = True,
    extra_env: Mapping[str, str] | None = None,
    config_home: Path | None = None,
) -> Completed:
    return runner(
        [find_uv(), *args, "--color", "never"],
        env=compute_uv_environment(os.environ, config_home) | dict(extra_env or {}),
        check=check,
        failure=failure,
    )


def uv_python_install(
    request: str,
    install_dir: Path,
    *,
    downloads_json: Path | None = None,
    runner: Runner = run,
) -> Completed:
    """Install the Python matching *request* (``cpython@3.11``) into *install_dir*.

    With *downloads_json*, uv takes the list of available Pythons from that file
    instead of its built-in python-build-standalone list.  Never touches the
    user's own uv Python folder or ``~/.local/bin``.  Returns the completed
    command even when it failed; the caller explains failures.
    """
    extra_env = {}
    args: list[str | Path] = [
        "python",
        "install",
        "--no-config",
        "--no-bin",
        "--install-dir",
        install_dir,
    ]
    if downloads_json is not None:
        args += ["--python-downloads-json-url", downloads_json.resolve().as_uri()]
        # Local files: retrying a corrupt archive only delays the error.
        extra_env["UV_HTTP_RETRIES"] = "0"
    args.append(request)
    return _uv(args, runner=runner, failure="", check=False, extra_env=extra_env)


def uv_version(*, runner: Runner = run) -> str:
    """Return the version of the uv venvstacks runs (``0.13.9``)."""
    return _uv(["--version"], runner=runner, failure="could not run uv").stdout.split()[1]


def uv_pip_uninstall(
    python: Path, packages: list[str], *, label: str, runner: Runner = run
) -> None:
    """Uninstall *packages* from the environment of *python*."""
    _uv(
        ["pip", "uninstall", "--no-config", "--python", python, *packages],
        runner=runner,
        failure=f"{label}: uv could not uninstall {', '.join(packages)}",
    )


def uv_lock(project: Path, python: Path, *, runner: Runner = run) -> Completed:
    """Resolve the synthetic project in *project* for every platform (``uv lock``).

    The project's ``[tool.uv]`` table carries all settings; user and system uv
    configuration is hidden.  ``--upgrade`` ignores any earlier ``uv.lock``.
    Returns the completed command even when it failed; the caller explains failures.
    """
    return _uv(
        ["lock", "--project", project, "--python", python, "--upgrade", "--no-progress"],
        runner=runner,
        failure="",
        check=False,
        config_home=_empty_config_home(project),
    )


def uv_export_pylock(
    project: Path, python: Path, output: Path, *, runner: Runner = run
) -> Completed:
    """Export the project's ``uv.lock`` as a PEP 751 ``pylock.toml`` file at *output*."""
    return _uv(
        [
            "export",
            "--project",
            project,
            "--python",
            python,
            "--locked",
            "--format",
            "pylock.toml",
            "--no-header",
            "--no-emit-project",
            "--no-annotate",
            "--quiet",
            "-o",
            output,
        ],
        runner=runner,
        failure="",
        check=False,
        config_home=_empty_config_home(project),
    )


def _empty_config_home(project: Path) -> Path:
    home = project / ".uv-config-home"
    home.mkdir(parents=True, exist_ok=True)
    return home


def uv_pip_install_pylock(
    python: Path,
    pylock: Path,
    python_platform: str,
    *,
    label: str,
    extra_env: Mapping[str, str] | None = None,
    runner: Runner = run,
) -> Completed:
    """Install exactly the packages of *pylock* for *python_platform* into *python*'s environment.

    No resolution happens: the lock lists every package, and the ones a lower
    layer provides carry a never-true marker, so they are skipped.
    """
    return _uv(
        [
            "pip",
            "install",
            "--no-config",
            "--preview-features",
            "pylock",
            "--python",
            python,
            "--python-platform",
            python_platform,
            "--quiet",
            "-r",
            pylock,
        ],
        runner=runner,
        failure=f"{label}: uv could not install the layer's locked packages",
        extra_env=extra_env,
    )
