"""Checking a manifest's signature against the keys the user trusts.

With trusted keys given (``--trusted-key``, ``VENVSTACKS_TRUSTED_KEYS``), a
manifest is used only if ``<manifest>.minisig`` beside it is a valid signature
of its exact bytes by one of those keys, and the signed comment names this
manifest's file.  The check runs on the bytes that are then parsed, before any
archive is read, so a refused publication leaves the target untouched.  The
archives are covered through the manifest's sha256 of each one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from venvstacks.errors import DeployError
from venvstacks.signing import (
    PublicKey,
    SigningError,
    check_signature,
    compute_signature_path,
    find_signing_key,
    names_file,
    parse_signature,
    render_key_id,
)


def check_manifest_signature(path: Path, data: bytes, trusted: Sequence[PublicKey]) -> PublicKey:
    """Return the trusted key that signed the manifest *data* read from *path*; else refuse."""
    ids = ", ".join(key.key_id_text for key in trusted)
    signature_path = compute_signature_path(path)
    try:
        text = signature_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeployError(
            f"{path}: not signed (no {signature_path.name} beside it); only publications "
            f"signed by a trusted key ({ids}) are deployed"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeployError(f"{signature_path}: can't read the signature ({exc})") from None
    try:
        signature = parse_signature(text, str(signature_path))
    except SigningError as exc:
        raise DeployError(str(exc)) from None
    signer_id = render_key_id(signature.key_id)
    key = find_signing_key(signature, trusted)
    if key is None:
        raise DeployError(
            f"{path}: signed by key {signer_id}, which is not a trusted key ({ids}); "
            "pass the publisher's public key with --trusted-key"
        )
    if not check_signature(data, signature, key):
        raise DeployError(
            f"{path}: the signature by key {signer_id} does not match the manifest "
            "(changed after signing); refusing to deploy"
        )
    if not names_file(signature, path):
        raise DeployError(
            f"{path}: the signature by key {signer_id} was made for another file "
            f"({signature.trusted_comment!r}); refusing to deploy"
        )
    return key
