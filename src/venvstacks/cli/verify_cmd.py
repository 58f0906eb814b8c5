"""``venvstacks verify``: check deployed layers against their file manifests (and repair them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from venvstacks.cli.deploy_cmd import TrustedKeys, load_trusted_keys
from venvstacks.cli.options import LockTimeout
from venvstacks.cli.output import LockWaitSpinner, Output, run_guarded
from venvstacks.deploy import DeploymentCheck, verify_deployment
from venvstacks.deploy.integrity import LayerCheck
from venvstacks.store.verify import verify_store


def _summary(check: LayerCheck) -> str:
    if check.problem:
        return f"not checked: {check.problem}"
    counts = [
        f"{len(paths)} {label}"
        for label, paths in (
            ("modified", check.modified),
            ("missing", check.missing),
            ("unexpected", check.unexpected),
        )
        if paths
    ]
    return ", ".join(counts) or "ok"


def _name(result: DeploymentCheck, check: LayerCheck) -> str:
    """Return a layer's name in the report: its folder, relative to the target or store."""
    return check.layer_dir.relative_to(result.target).as_posix()


def render_verify_text(result: DeploymentCheck) -> str:
    """Render a check for the terminal: one line per layer, then each differing path."""
    lines = [f"Repaired: {', '.join(result.repaired)}"] if result.repaired else []
    lines.append(f"Verified {result.target}:")
    width = max((len(_name(result, c)) for c in result.layers), default=0)
    for check in result.layers:
        lines.append(f"  {_name(result, check):<{width}}  {_summary(check)}")
        for label, paths in (
            ("modified", check.modified),
            ("missing", check.missing),
            ("unexpected", check.unexpected),
        ):
            lines += [f"    {label}: {path}" for path in paths]
    return "\n".join(lines) + "\n"


def render_verify_json(result: DeploymentCheck) -> str:
    """Render a check as JSON (sorted keys, 2-space indent, final newline)."""
    data: dict[str, Any] = {
        "target": str(result.target),
        "ok": result.ok,
        "repaired": list(result.repaired),
        "layers": [
            {
                "install_target": c.layer_dir.name,
                "folder": _name(result, c),
                "ok": c.ok,
                "modified": list(c.modified),
                "missing": list(c.missing),
                "unexpected": list(c.unexpected),
                "problem": c.problem,
            }
            for c in result.layers
        ],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def verify(
    ctx: typer.Context,
    target: Annotated[
        Path | None,
        typer.Argument(
            metavar="TARGET",
            help="A folder 'venvstacks deploy' deployed layers into (or use --store).",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            metavar="DIR",
            help="Check a layer store's release instead: the current one, --release ID, or "
            "--all-releases.",
            show_default=False,
        ),
    ] = None,
    release: Annotated[
        int | None,
        typer.Option("--release", metavar="ID", help="With --store: check this release."),
    ] = None,
    all_releases: Annotated[
        bool,
        typer.Option("--all-releases", help="With --store: check every release the store holds."),
    ] = False,
    *,
    repair: Annotated[
        Path | None,
        typer.Option(
            "--repair",
            metavar="ARTIFACT_DIR",
            help="Restore differing layers from the archives in this folder (the ones they "
            "were deployed from, checked again first).",
            show_default=False,
        ),
    ] = None,
    trusted_key: TrustedKeys = None,
    json_output: Annotated[
        bool, typer.Option("--json/--no-json", help="Print the result as JSON.")
    ] = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Check deployed layers against the file manifests they were published with.

    Every file, folder and symlink of each layer is compared with the layer's
    share/venv/metadata/venvstacks_files.json: modified, missing and unexpected
    paths are listed (bytecode the interpreter writes for a listed .py file is
    not a finding).  Exit code 1 when anything differs.  With --repair, only the
    differing paths are restored from the verified archives, and a layer's
    postinstall.py runs again only if a file it writes was affected.
    """
    output: Output = ctx.obj

    if (target is None) == (store is None):
        raise typer.BadParameter("pass a deployment folder TARGET, or --store DIR")
    if store is None and (release is not None or all_releases):
        raise typer.BadParameter("--release and --all-releases need --store")
    if store is not None and repair is not None:
        raise typer.BadParameter(
            "--repair works on deployment folders; add the release to the store again instead"
        )

    def report(result: DeploymentCheck) -> None:
        if json_output:
            typer.echo(render_verify_json(result), nl=False)
        elif output.verbosity >= 0 or not result.ok:
            typer.echo(render_verify_text(result), nl=False)
        if not result.ok:
            raise typer.Exit(1)

    def action() -> None:
        if store is not None:
            report(
                verify_store(
                    store,
                    release=release,
                    all_releases=all_releases,
                    lock_timeout=lock_timeout,
                    waiting=LockWaitSpinner(output),
                )
            )
            return
        assert target is not None  # noqa: S101 - checked above
        report(
            verify_deployment(
                target,
                repair_from=repair,
                trusted_keys=load_trusted_keys(trusted_key or ()),
                lock_timeout=lock_timeout,
                waiting=LockWaitSpinner(output),
            )
        )

    run_guarded(output, action)
