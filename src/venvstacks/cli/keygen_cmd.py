"""``venvstacks keygen``: make an Ed25519 key pair for signing publications."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from venvstacks.cli.output import Output, run_guarded
from venvstacks.signing import write_key_pair


def keygen(
    ctx: typer.Context,
    output_name: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="NAME",
            help="Write the secret key to NAME.key (owner-only permissions) and the public "
            "key to NAME.pub.",
            show_default=False,
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force/--no-force", help="Replace an existing key pair.")
    ] = False,
) -> None:
    """Make a key pair for signing publications (minisign's Ed25519 format).

    Sign with 'venvstacks publish --sign-key NAME.key'; deploy only signed
    publications with 'venvstacks deploy --trusted-key NAME.pub'.  The secret
    key has no password: keep it in a CI secret, never in a repository.  The
    standard minisign tool verifies the signatures with NAME.pub.
    """
    output: Output = ctx.obj

    def action() -> None:
        secret, public, key = write_key_pair(output_name, force=force)
        if output.verbosity >= 0:
            typer.echo(f"Key id: {key.key_id_text}")
            typer.echo(f"Secret key: {secret}  (keep it secret: sign with --sign-key)")
            typer.echo(f"Public key: {public}  (share it: deploy with --trusted-key)")

    run_guarded(output, action)
