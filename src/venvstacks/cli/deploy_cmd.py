"""``venvstacks deploy``: unpack published layers into a folder, ready to run."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from venvstacks.cli.options import LockTimeout
from venvstacks.cli.output import LockWaitSpinner, Output, run_guarded
from venvstacks.deploy import DeployResult, PublicKey, deploy_layers, load_public_key

ArtifactDir = Annotated[
    Path,
    typer.Argument(
        help="The folder 'venvstacks publish' wrote the archives and __venvstacks__/ to.",
        show_default=False,
    ),
]
Target = Annotated[
    Path,
    typer.Option(
        "--target",
        "-t",
        metavar="DIR",
        help="Folder to deploy the layers into, side by side (created if missing).",
        show_default=False,
    ),
]
DeployInclude = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        metavar="PATTERN",
        help="Only deploy layers whose build or deployed name matches this fnmatch pattern "
        "(repeatable); the layers they run on come too.",
    ),
]
Platform = Annotated[
    str | None,
    typer.Option(
        "--platform",
        metavar="PLATFORM",
        help="Deploy from __venvstacks__/venvstacks-PLATFORM.json (published with --tag-outputs). "
        "Default: venvstacks.json, else the manifest for this machine.",
        show_default=False,
    ),
]
TRUSTED_KEYS_ENV_VAR = "VENVSTACKS_TRUSTED_KEYS"
TrustedKeys = Annotated[
    list[Path] | None,
    typer.Option(
        "--trusted-key",
        metavar="FILE",
        help="Deploy only a publication whose manifest is signed by this public key "
        f"(a .pub file; repeatable). Default: the files listed in {TRUSTED_KEYS_ENV_VAR} "
        "(separated like PATH); with none, signatures are not checked.",
        show_default=False,
    ),
]
DeployJson = Annotated[
    bool,
    typer.Option("--json/--no-json", help="Print the result as JSON (launch commands as lists)."),
]


def load_trusted_keys(
    paths: Sequence[Path], environ: Mapping[str, str] = os.environ
) -> list[PublicKey]:
    """Read the ``--trusted-key`` files, or those in ``VENVSTACKS_TRUSTED_KEYS``."""
    if not paths:
        listed = environ.get(TRUSTED_KEYS_ENV_VAR, "")
        paths = [Path(item) for item in listed.split(os.pathsep) if item.strip()]
    return [load_public_key(path) for path in paths]


def render_command(command: Sequence[str]) -> str:
    """Render a command line for the user's shell to copy."""
    if os.name == "nt":
        return subprocess.list2cmdline(command)
    return shlex.join(command)


def render_deploy_json(result: DeployResult) -> str:
    """Render a deployment result as JSON (sorted keys, 2-space indent, final newline)."""
    data: dict[str, Any] = {
        "target": str(result.target),
        "manifest": str(result.manifest_path),
        "layers": list(result.layers),
        "deployed": list(result.deployed),
        "unchanged": list(result.unchanged),
        "applications": [
            {
                "layer_name": a.layer_name,
                "install_target": a.install_target,
                "command": list(a.command),
            }
            for a in result.apps
        ],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def render_deploy_text(result: DeployResult) -> str:
    """Render a deployment result for the terminal: each layer, then how to launch each app."""
    width = max((len(name) for name in result.layers), default=0)
    lines = [f"Deployed to {result.target}:"]
    lines += [
        f"  {name:<{width}}  {'deployed' if name in result.deployed else 'unchanged'}"
        for name in result.layers
    ]
    if result.apps:
        lines.append("Launch the applications with:")
        lines += [f"  {app.install_target}: {render_command(app.command)}" for app in result.apps]
    return "\n".join(lines) + "\n"


def deploy(
    ctx: typer.Context,
    artifact_dir: ArtifactDir,
    *,
    target: Target,
    include: DeployInclude = None,
    platform: Platform = None,
    trusted_key: TrustedKeys = None,
    json_output: DeployJson = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Deploy published layers into a folder and print how to launch each application.

    Each chosen layer's archive is checked against the size and sha256 in the
    manifest and unpacked into a staging folder (unsafe members are refused);
    then the layers are moved into place and finished with their own
    postinstall.py, runtimes first.  If anything fails, the previous layer
    folders are put back, so the target is as it was.  Layers already deployed
    from the same archive are left alone.  With trusted keys, an unsigned or
    badly signed publication is refused before anything is unpacked.
    """
    output: Output = ctx.obj

    def action() -> None:
        keys = load_trusted_keys(trusted_key or ())
        console = Console(stderr=True)
        if console.is_terminal and output.verbosity >= 0 and not json_output:
            with console.status(
                f"Deploying into {target}..."
            ) as status:  # a spinner while it works
                result = deploy_layers(
                    artifact_dir,
                    target,
                    include=include or (),
                    platform=platform,
                    trusted_keys=keys,
                    lock_timeout=lock_timeout,
                    waiting=LockWaitSpinner(output, status),
                )
        else:
            result = deploy_layers(
                artifact_dir,
                target,
                include=include or (),
                platform=platform,
                trusted_keys=keys,
                lock_timeout=lock_timeout,
                waiting=LockWaitSpinner(output),
            )
        if json_output:
            typer.echo(render_deploy_json(result), nl=False)
        elif output.verbosity >= 0:
            typer.echo(render_deploy_text(result), nl=False)

    run_guarded(output, action)
