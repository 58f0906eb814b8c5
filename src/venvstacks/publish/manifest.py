"""Writing a publication's manifest: per-layer metadata hashes and an optional signature.

The manifest (``__venvstacks__/venvstacks[-<platform>].json``) lists every layer
of a publication.  Each entry carries ``layer_metadata_hashes``, the sha256 of the
layer's own metadata file in ``env_metadata/``, so a signature over the manifest
covers those files too.  With a signing key, ``<manifest>.minisig`` is written
beside it (see `venvstacks.signing` for the format).

The signature is written before the manifest: the new manifest appearing is the
moment the publication changes, and from then on its signature is in place.  A
run killed between the two leaves the previous manifest beside a signature that
does not match it, which a deploy with a trusted key refuses (nothing is
unpacked) until the next publish completes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from venvstacks.fs import render_json, write_text
from venvstacks.hashing import hash_strings
from venvstacks.signing import (
    SecretKey,
    compute_file_comment,
    compute_signature_path,
    render_signature,
)

METADATA_HASHES_FIELD = "layer_metadata_hashes"


def add_metadata_hash(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Return a manifest entry: the layer's metadata plus the sha256 of its metadata file."""
    digest = hash_strings([render_json(metadata)], omit_prefix=True)
    return {**metadata, METADATA_HASHES_FIELD: {"sha256": digest}}


def write_manifest(path: Path, manifest: Mapping[str, Any], sign_key: SecretKey | None) -> None:
    """Write the manifest atomically, signed with *sign_key* (or with no signature file)."""
    text = render_json(manifest)
    signature_path = compute_signature_path(path)
    if sign_key is None:
        signature_path.unlink(missing_ok=True)  # a stale signature would only confuse
    else:
        comment = compute_file_comment(path)
        write_text(signature_path, render_signature(sign_key, text.encode(), comment))
    write_text(path, text)
