"""Key pairs and signatures: our own round trips, and interop with py-minisign.

py-minisign is an independent implementation of minisign's formats: what we sign
must verify with it, and keys it makes (without a password) must sign with us.
"""

from __future__ import annotations

import stat
from pathlib import Path

import minisign
import pytest

from venvstacks.signing import (
    SigningError,
    check_signature,
    find_signing_key,
    generate_secret_key,
    load_public_key,
    load_secret_key,
    parse_public_key,
    parse_secret_key,
    parse_signature,
    render_public_key,
    render_secret_key,
    render_signature,
    write_key_pair,
)

DATA = b'{"layers": {}}\n'


def test_key_files_round_trip() -> None:
    key = generate_secret_key()
    again = parse_secret_key(render_secret_key(key), "k.key")
    assert again == key
    assert parse_public_key(render_public_key(key.public_key), "k.pub") == key.public_key


def test_write_key_pair_is_owner_only_and_never_overwrites(tmp_path: Path) -> None:
    secret, public, key = write_key_pair(tmp_path / "release")
    assert (secret.name, public.name) == ("release.key", "release.pub")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert load_public_key(public) == key == load_secret_key(secret).public_key
    with pytest.raises(SigningError) as caught:
        write_key_pair(tmp_path / "release")
    assert str(caught.value) == (
        f"{secret}: already exists; choose another --output name, or pass --force "
        "to replace the key pair"
    )
    assert load_public_key(public) == key
    _, _, replaced = write_key_pair(tmp_path / "release", force=True)
    assert replaced != key


def test_signatures_are_deterministic_and_verify() -> None:
    key = generate_secret_key()
    text = render_signature(key, DATA, "file:venvstacks.json")
    assert text == render_signature(key, DATA, "file:venvstacks.json")
    signature = parse_signature(text, "sig")
    assert signature.trusted_comment == "file:venvstacks.json"
    assert find_signing_key(signature, [key.public_key]) == key.public_key
    assert check_signature(DATA, signature, key.public_key)
    assert not check_signature(DATA + b" ", signature, key.public_key)
    other = generate_secret_key().public_key
    assert find_signing_key(signature, [other]) is None
    assert not check_signature(DATA, signature, other)


def test_an_edited_trusted_comment_fails() -> None:
    key = generate_secret_key()
    text = render_signature(key, DATA, "file:venvstacks.json")
    forged = parse_signature(text.replace("file:venvstacks.json", "file:other.json"), "sig")
    assert not check_signature(DATA, forged, key.public_key)


def test_py_minisign_verifies_our_signatures(tmp_path: Path) -> None:
    secret, public, _ = write_key_pair(tmp_path / "k")
    text = render_signature(load_secret_key(secret), DATA, "file:venvstacks.json")
    theirs = minisign.PublicKey.from_file(str(public))
    signature = minisign.Signature.from_bytes(text.encode())
    theirs.verify(DATA, signature)
    assert signature.trusted_comment == "file:venvstacks.json"
    with pytest.raises(minisign.VerifyError):
        theirs.verify(DATA + b"x", signature)


def test_we_sign_with_py_minisign_keys_and_verify_theirs() -> None:
    pair = minisign.KeyPair.generate()
    ours = parse_secret_key(bytes(pair.secret_key).decode(), "their.key")
    public = parse_public_key(bytes(pair.public_key).decode(), "their.pub")
    assert ours.public_key == public
    signature = parse_signature(render_signature(ours, DATA, "t"), "sig")
    pair.public_key.verify(
        DATA, minisign.Signature.from_bytes(render_signature(ours, DATA, "t").encode())
    )
    theirs = pair.secret_key.sign(DATA, trusted_comment="theirs")
    assert check_signature(DATA, parse_signature(bytes(theirs).decode(), "sig"), public)
    assert signature.key_id == public.key_id


def test_their_public_key_id_is_printed_like_minisign() -> None:
    pair = minisign.KeyPair.generate()
    public = parse_public_key(bytes(pair.public_key).decode(), "their.pub")
    # minisign prints the key id as a little-endian 64-bit number.
    assert (
        public.key_id_text
        == int.from_bytes(public.key_id, "little").to_bytes(8, "big").hex().upper()
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "k.pub: empty; expected a minisign public key"),
        ("untrusted comment: x\nnot base64!\n", "k.pub: not a minisign public key"),
    ],
)
def test_bad_public_keys(text: str, message: str) -> None:
    with pytest.raises(SigningError) as caught:
        parse_public_key(text, "k.pub")
    assert str(caught.value) == message


def test_password_protected_secret_keys_are_refused() -> None:
    pair = minisign.KeyPair.generate()
    pair.secret_key.encrypt("secret")
    with pytest.raises(SigningError) as caught:
        parse_secret_key(bytes(pair.secret_key).decode(), "their.key")
    assert str(caught.value) == (
        "their.key: the secret key is password-protected; remove the password with "
        "'minisign -C -W' or make a key with 'venvstacks keygen'"
    )
