"""Ed25519 key pairs and detached signatures in minisign's file formats.

Publishing signs each manifest it writes; deploying checks the signature against
the keys the user trusts.  The files follow minisign's published formats, so the
standard ``minisign -V -p NAME.pub -m venvstacks.json`` verifies what we sign and
keys made with ``minisign -G -W`` (no password) work here:

* public key (``NAME.pub``): an ``untrusted comment:`` line, then base64 of
  ``"Ed"`` + key id (8 bytes) + Ed25519 public key (32 bytes);
* secret key (``NAME.key``): an ``untrusted comment:`` line, then base64 of
  ``"Ed"`` + KDF algorithm (two zero bytes: not encrypted) + ``"B2"`` + salt (32) +
  KDF limits (2 x 8) + key id (8) + Ed25519 seed (32) + public key (32) +
  BLAKE2b-256 checksum of ``"Ed"`` + key id + seed + public key;
* signature (``FILE.minisig``): an ``untrusted comment:`` line, base64 of ``"ED"``
  + key id + Ed25519 signature of the BLAKE2b-512 digest of the file, a
  ``trusted comment:`` line, and base64 of the Ed25519 signature of (signature +
  trusted comment), so the trusted comment cannot be edited either.

Ed25519 signatures are deterministic: the same key, file and comment give the
same bytes, which keeps publications reproducible.  The cryptography comes from
the ``cryptography`` package; nothing here implements a primitive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from venvstacks.errors import VenvStacksError
from venvstacks.fs import write_text

SIGNATURE_SUFFIX = ".minisig"
_KEY_ALGORITHM = b"Ed"
_PREHASHED_ALGORITHM = b"ED"
_CHECKSUM_ALGORITHM = b"B2"
_NO_KDF = b"\0\0"
_KEY_ID_LEN = 8
_KEY_LEN = 32
_SIG_LEN = 64
_UNTRUSTED = "untrusted comment: "
_TRUSTED = "trusted comment: "


class SigningError(VenvStacksError):
    """A key or signature file can't be read, or a signature does not verify."""


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key and its minisign key id."""

    key_id: bytes
    key: bytes

    @property
    def key_id_text(self) -> str:
        """The key id as minisign prints it."""
        return render_key_id(self.key_id)


@dataclass(frozen=True)
class SecretKey:
    """An Ed25519 secret key (its 32-byte seed) with its key id."""

    key_id: bytes
    seed: bytes = field(repr=False)

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        raw = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return PublicKey(self.key_id, raw.public_bytes(Encoding.Raw, PublicFormat.Raw))


@dataclass(frozen=True)
class Signature:
    """A parsed detached signature."""

    key_id: bytes
    signature: bytes
    trusted_comment: str
    global_signature: bytes
    prehashed: bool


def render_key_id(key_id: bytes) -> str:
    """Render a key id as minisign prints it: 16 hex digits of a little-endian number."""
    return key_id[::-1].hex().upper()


def compute_signature_path(path: Path) -> Path:
    """Where the detached signature of *path* lives (minisign's ``FILE.minisig``)."""
    return path.with_name(path.name + SIGNATURE_SUFFIX)


def compute_file_comment(path: Path) -> str:
    """Return the trusted comment that binds a signature to a file name (minisign's ``file:``)."""
    return f"file:{path.name}"


def names_file(signature: Signature, path: Path) -> bool:
    """Return whether the signature's trusted comment names *path*'s file."""
    return compute_file_comment(path) in signature.trusted_comment.split("\t")


def generate_secret_key() -> SecretKey:
    """Return a new random key pair's secret half (the public half derives from it)."""
    return SecretKey(os.urandom(_KEY_ID_LEN), os.urandom(_KEY_LEN))


def _checksum(key: SecretKey) -> bytes:
    material = _KEY_ALGORITHM + key.key_id + key.seed + key.public_key.key
    return hashlib.blake2b(material, digest_size=32).digest()


def render_public_key(key: PublicKey) -> str:
    """Render a ``.pub`` file."""
    encoded = base64.b64encode(_KEY_ALGORITHM + key.key_id + key.key).decode()
    return f"{_UNTRUSTED}minisign public key {key.key_id_text}\n{encoded}\n"


def render_secret_key(key: SecretKey) -> str:
    """Render an unencrypted ``.key`` file (protect it like a password)."""
    raw = (
        _KEY_ALGORITHM
        + _NO_KDF
        + _CHECKSUM_ALGORITHM
        + bytes(32 + 8 + 8)  # salt and KDF limits: unused without a password
        + key.key_id
        + key.seed
        + key.public_key.key
        + _checksum(key)
    )
    return f"{_UNTRUSTED}minisign secret key\n{base64.b64encode(raw).decode()}\n"


def _decode_lines(text: str, source: str, what: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise SigningError(f"{source}: empty; expected a minisign {what}")
    return lines


def _b64(value: str, length: int, source: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != length:
        raise SigningError(f"{source}: not a minisign {what}")
    return raw


def parse_public_key(text: str, source: str) -> PublicKey:
    """Parse a ``.pub`` file's text (or a bare base64 key, as ``minisign -P`` takes)."""
    lines = _decode_lines(text, source, "public key")
    encoded = lines[1] if lines[0].startswith(_UNTRUSTED) and len(lines) > 1 else lines[0]
    raw = _b64(encoded, 2 + _KEY_ID_LEN + _KEY_LEN, source, "public key")
    if raw[:2] != _KEY_ALGORITHM:
        raise SigningError(f"{source}: not an Ed25519 minisign public key")
    return PublicKey(raw[2:10], raw[10:])


def parse_secret_key(text: str, source: str) -> SecretKey:
    """Parse an unencrypted ``.key`` file's text."""
    lines = _decode_lines(text, source, "secret key")
    raw = _b64(lines[-1], 2 * 3 + 32 + 16 + _KEY_ID_LEN + 2 * _KEY_LEN + 32, source, "secret key")
    if raw[:2] != _KEY_ALGORITHM or raw[4:6] != _CHECKSUM_ALGORITHM:
        raise SigningError(f"{source}: not an Ed25519 minisign secret key")
    if raw[2:4] != _NO_KDF:
        raise SigningError(
            f"{source}: the secret key is password-protected; remove the password with "
            "'minisign -C -W' or make a key with 'venvstacks keygen'"
        )
    body = raw[54:]
    key = SecretKey(body[:8], body[8:40])
    if key.public_key.key != body[40:72] or _checksum(key) != body[72:]:
        raise SigningError(f"{source}: the secret key is damaged (its checksum does not match)")
    return key


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SigningError(f"{path}: can't read the {what} ({reason})") from None


def load_public_key(path: Path) -> PublicKey:
    """Read a ``.pub`` file."""
    return parse_public_key(_read(path, "public key"), str(path))


def load_secret_key(path: Path) -> SecretKey:
    """Read a ``.key`` file."""
    return parse_secret_key(_read(path, "secret key"), str(path))


def render_signature(key: SecretKey, data: bytes, trusted_comment: str) -> str:
    """Sign *data* (prehashed, like minisign's default) and render the ``.minisig`` text."""
    if "\n" in trusted_comment or "\r" in trusted_comment:
        raise ValueError("a trusted comment is one line")
    private = Ed25519PrivateKey.from_private_bytes(key.seed)
    signature = private.sign(hashlib.blake2b(data).digest())
    global_signature = private.sign(signature + trusted_comment.encode())
    line = base64.b64encode(_PREHASHED_ALGORITHM + key.key_id + signature).decode()
    return (
        f"{_UNTRUSTED}signature from venvstacks secret key {key.public_key.key_id_text}\n"
        f"{line}\n{_TRUSTED}{trusted_comment}\n{base64.b64encode(global_signature).decode()}\n"
    )


def parse_signature(text: str, source: str) -> Signature:
    """Parse a ``.minisig`` file's text."""
    lines = _decode_lines(text, source, "signature")
    if len(lines) != 4 or not lines[2].startswith(_TRUSTED):  # noqa: PLR2004 - four lines
        raise SigningError(f"{source}: not a minisign signature")
    raw = _b64(lines[1], 2 + _KEY_ID_LEN + _SIG_LEN, source, "signature")
    if raw[:2] not in {_KEY_ALGORITHM, _PREHASHED_ALGORITHM}:
        raise SigningError(f"{source}: not an Ed25519 minisign signature")
    return Signature(
        key_id=raw[2:10],
        signature=raw[10:],
        trusted_comment=lines[2].removeprefix(_TRUSTED),
        global_signature=_b64(lines[3], _SIG_LEN, source, "signature"),
        prehashed=raw[:2] == _PREHASHED_ALGORITHM,
    )


def find_signing_key(signature: Signature, keys: Sequence[PublicKey]) -> PublicKey | None:
    """Return the key among *keys* whose id the signature names, if any."""
    return next((k for k in keys if k.key_id == signature.key_id), None)


def check_signature(data: bytes, signature: Signature, key: PublicKey) -> bool:
    """Return whether *signature* by *key* covers *data* and its trusted comment."""
    verifier = Ed25519PublicKey.from_public_bytes(key.key)
    message = hashlib.blake2b(data).digest() if signature.prehashed else data
    try:
        verifier.verify(signature.signature, message)
        verifier.verify(
            signature.global_signature, signature.signature + signature.trusted_comment.encode()
        )
    except InvalidSignature:
        return False
    return True


def write_key_pair(base: Path, *, force: bool = False) -> tuple[Path, Path, PublicKey]:
    """Write ``BASE.key`` (owner-only permissions) and ``BASE.pub``; return their paths and key.

    Existing files are kept unless *force*: overwriting a signing key by accident
    would orphan every publication signed with it.
    """
    secret_path = base.with_name(base.name + ".key")
    public_path = base.with_name(base.name + ".pub")
    existing = [p for p in (secret_path, public_path) if p.exists()]
    if existing and not force:
        raise SigningError(
            f"{existing[0]}: already exists; choose another --output name, or pass --force "
            "to replace the key pair"
        )
    key = generate_secret_key()
    for path in existing:
        path.unlink()
    # Created with owner-only permissions from the start: never readable by others, not even briefly.
    fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
        stream.write(render_secret_key(key))
    write_text(public_path, render_public_key(key.public_key))
    return secret_path, public_path, key.public_key
