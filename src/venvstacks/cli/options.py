"""Command-line options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from venvstacks.runtimes.mirror import MIRROR_ENV_VAR

LOCK_TIMEOUT_ENV_VAR = "VENVSTACKS_LOCK_TIMEOUT"

SpecPath = Annotated[
    Path,
    typer.Argument(
        help="The stack specification to read (or a folder holding venvstacks.toml).",
        show_default=True,
    ),
]
Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        metavar="PATTERN",
        help="Only work on layers whose build name matches this fnmatch pattern "
        "(repeatable); their dependencies and the layers derived from them come too.",
    ),
]
AllowMissing = Annotated[
    bool,
    typer.Option(
        "--allow-missing/--no-allow-missing",
        help="Warn instead of failing when an --include pattern matches no layer.",
    ),
]
BuildDir = Annotated[
    Path,
    typer.Option(
        "--build-dir",
        metavar="DIR",
        help="Build folder, relative to the spec's folder ('~' is expanded).",
    ),
]
Json = Annotated[
    bool, typer.Option("--json/--no-json", help="Print machine-readable JSON instead of a tree.")
]


PythonMirror = Annotated[
    Path | None,
    typer.Option(
        "--python-mirror",
        metavar="DIR",
        envvar=MIRROR_ENV_VAR,
        show_envvar=True,
        help="Folder of python-build-standalone style 'install_only' archives to install "
        "runtimes from, instead of downloading them.",
    ),
]
ResetLock = Annotated[
    list[str] | None,
    typer.Option(
        "--reset-lock",
        metavar="PATTERN",
        help="Delete the lock of matching layers before locking them again (repeatable; "
        "without --include, every layer is selected).",
    ),
]
LockDependencies = Annotated[
    bool,
    typer.Option(
        "--lock-dependencies/--no-lock-dependencies",
        help="With --include, relock the layers the included ones run on too "
        "(otherwise they are locked only if needed).",
    ),
]
Index = Annotated[
    bool,
    typer.Option(
        "--index/--no-index",
        help="When locking, query the package indexes of the uv settings "
        "(--no-index: local wheels only).",
    ),
]
LocalWheels = Annotated[
    list[Path] | None,
    typer.Option(
        "--local-wheels",
        metavar="DIR",
        help="When locking, resolve from this folder of wheels too, relative to the spec's "
        "folder (repeatable).",
    ),
]
Show = Annotated[
    bool,
    typer.Option("--show/--no-show", help="Print the selected layers and operations first."),
]
ShowOnly = Annotated[
    bool,
    typer.Option(
        "--show-only/--no-show-only",
        help="Print the selected layers and operations, then stop.",
    ),
]
LockTimeout = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        metavar="SECONDS",
        min=0,
        envvar=LOCK_TIMEOUT_ENV_VAR,
        show_envvar=True,
        help="When another venvstacks run is writing a folder this one writes, wait up to "
        "this long for it to finish (0: fail at once, naming the other run).",
    ),
]
