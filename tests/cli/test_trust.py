"""Signed publications end to end: keygen, publish --sign-key, deploy --trusted-key.

Offline, on the stack of tests/cli/test_publish.py (built once for this module).
Each refusal is checked on a copy of a signed publication tampered the way an
attacker with write access to the artifact folder would, with every archive's
size and sha256 made to match again: only the signature stands in the way.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import minisign
import pytest
import zstandard
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.cli.test_build import launch
from tests.cli.test_publish import APP_OUTPUT, PLATFORM, make_project, manifest_layers, run_ok

pytestmark = pytest.mark.slow

MANIFEST = "__venvstacks__/venvstacks.json"


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venvstacks", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else b""
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    proc = cli("keygen", "--output", folder / "release")
    assert proc.returncode == 0, proc.stderr
    key_id = load_public_key_id(folder / "release.pub")
    assert proc.stdout == (
        f"Key id: {key_id}\n"
        f"Secret key: {folder / 'release.key'}  (keep it secret: sign with --sign-key)\n"
        f"Public key: {folder / 'release.pub'}  (share it: deploy with --trusted-key)\n"
    )
    assert cli("keygen", "--output", folder / "other").returncode == 0
    return folder


def load_public_key_id(path: Path) -> str:
    return path.read_text().splitlines()[0].rsplit(" ", 1)[-1]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, python_mirror: Path) -> Path:
    return make_project(tmp_path_factory.mktemp("trust") / "project", python_mirror)


@pytest.fixture(scope="module")
def signed(project: Path, keys: Path) -> Path:
    run_ok(project, "publish", "-o", "signed", "--format", "tar.zst", "--sign-key", str(keys / "release.key"))  # fmt: skip
    return project / "signed"


def test_keygen_refuses_to_overwrite_and_keeps_the_secret_private(keys: Path) -> None:
    assert stat.S_IMODE((keys / "release.key").stat().st_mode) == 0o600
    before = (keys / "release.key").read_bytes()
    proc = cli("keygen", "--output", keys / "release")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: {keys / 'release.key'}: already exists; choose another --output name, "
        "or pass --force to replace the key pair\n"
    )
    assert (keys / "release.key").read_bytes() == before


def test_the_signature_verifies_with_minisign_and_covers_the_layer_metadata(
    signed: Path, keys: Path
) -> None:
    manifest = signed / MANIFEST
    public = minisign.PublicKey.from_file(str(keys / "release.pub"))
    signature = minisign.Signature.from_file(str(manifest) + ".minisig")
    public.verify(manifest.read_bytes(), signature)
    assert signature.trusted_comment == "file:venvstacks.json"
    for entry in manifest_layers(load_json(manifest)):
        metadata = signed / "__venvstacks__/env_metadata" / f"{entry['layer_name']}.json"
        digest = hashlib.sha256(metadata.read_bytes()).hexdigest()
        assert entry["layer_metadata_hashes"] == {"sha256": digest}
        assert {k: v for k, v in entry.items() if k != "layer_metadata_hashes"} == load_json(
            metadata
        )


def test_signed_publications_are_reproducible(project: Path, signed: Path, keys: Path) -> None:
    env = {"VENVSTACKS_SIGN_KEY": str(keys / "release.key")}
    proc = cli("publish", "-o", "signed-again", "--format", "tar.zst", project / "venvstacks.toml", env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert tree(project / "signed-again") == tree(signed)


def test_an_unsigned_publish_removes_a_stale_signature(project: Path, signed: Path) -> None:
    copy = project / "resigned"
    shutil.copytree(signed, copy)
    run_ok(project, "publish", "-o", "resigned", "--format", "tar.zst")
    assert not (copy / (MANIFEST + ".minisig")).exists()


def test_deploy_with_a_trusted_key(signed: Path, keys: Path, tmp_path: Path) -> None:
    target = tmp_path / "layers"
    proc = cli("deploy", signed, "--target", target, "--trusted-key", keys / "release.pub")
    assert proc.returncode == 0, proc.stderr
    assert launch(target / "app-app") == APP_OUTPUT
    env = {"VENVSTACKS_TRUSTED_KEYS": f"{keys / 'other.pub'}{os.pathsep}{keys / 'release.pub'}"}
    again = cli("deploy", signed, "--target", tmp_path / "again", env=env)
    assert again.returncode == 0, again.stderr


def rewrite_archive(artifacts: Path, layer: str, edit: Any) -> None:
    """Apply *edit* to the layer's archive, then make the metadata match the new bytes."""
    manifest_path = artifacts / MANIFEST
    manifest = load_json(manifest_path)
    entry = next(e for e in manifest_layers(manifest) if e["layer_name"] == layer)
    archive = artifacts / entry["archive_name"]
    archive.write_bytes(edit(archive.read_bytes()))
    entry["archive_size"] = archive.stat().st_size
    entry["archive_hashes"] = {"sha256": hashlib.sha256(archive.read_bytes()).hexdigest()}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    metadata_path = artifacts / "__venvstacks__/env_metadata" / f"{layer}.json"
    metadata = load_json(metadata_path)
    metadata.update(archive_size=entry["archive_size"], archive_hashes=entry["archive_hashes"])
    metadata_path.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def replace_postinstall(data: bytes) -> bytes:
    """Repack a tar.zst with a postinstall.py that writes a file of the attacker's choosing."""
    plain = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(plain)) as source, tarfile.open(fileobj=out, mode="w") as tar:  # fmt: skip
        for member in source.getmembers():
            content = source.extractfile(member) if member.isfile() else None
            if member.name.endswith("/postinstall.py"):
                payload = b"import pathlib; pathlib.Path(__file__).with_name('PWNED').touch()\n"
                member.size = len(payload)
                content = io.BytesIO(payload)
            tar.addfile(member, content)
    return zstandard.ZstdCompressor().compress(out.getvalue())


def sign_with(artifacts: Path, key: Path) -> None:
    secret = minisign.SecretKey.from_file(str(key))
    manifest = artifacts / MANIFEST
    signature = secret.sign(manifest.read_bytes(), trusted_comment="file:venvstacks.json")
    (artifacts / (MANIFEST + ".minisig")).write_bytes(bytes(signature))


def test_tampered_postinstall_runs_without_a_trusted_key(signed: Path, tmp_path: Path) -> None:
    """The threat: integrity checks alone let an edited postinstall.py run."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(signed, artifacts)
    rewrite_archive(artifacts, "app-app", replace_postinstall)
    proc = cli("deploy", artifacts, "--target", tmp_path / "layers")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "layers/app-app/PWNED").exists()


@pytest.mark.parametrize("attack", ["flipped byte", "edited postinstall", "other key", "no signature"])  # fmt: skip
def test_tampered_publications_are_refused_and_the_target_untouched(
    signed: Path, keys: Path, tmp_path: Path, attack: str
) -> None:
    artifacts = tmp_path / "artifacts"
    shutil.copytree(signed, artifacts)
    manifest = artifacts / MANIFEST
    signer = load_public_key_id(keys / "release.pub")
    if attack == "flipped byte":
        rewrite_archive(artifacts, "app-app", flip_last_byte)
    elif attack == "edited postinstall":
        rewrite_archive(artifacts, "app-app", replace_postinstall)
    elif attack == "other key":
        sign_with(artifacts, keys / "other.key")
        signer = load_public_key_id(keys / "other.pub")
    else:
        Path(str(manifest) + ".minisig").unlink()
    target = tmp_path / "layers"
    assert cli("deploy", signed, "--target", target).returncode == 0
    before = tree(target)

    proc = cli("deploy", artifacts, "--target", target, "--trusted-key", keys / "release.pub")

    trusted = load_public_key_id(keys / "release.pub")
    expected = {
        "flipped byte": f"{manifest}: the signature by key {signer} does not match the manifest "
        "(changed after signing); refusing to deploy",
        "other key": f"{manifest}: signed by key {signer}, which is not a trusted key "
        f"({trusted}); pass the publisher's public key with --trusted-key",
        "no signature": f"{manifest}: not signed (no venvstacks.json.minisig beside it); only "
        f"publications signed by a trusted key ({trusted}) are deployed",
    }
    expected["edited postinstall"] = expected["flipped byte"]
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == f"error: {expected[attack]}\n"
    assert tree(target) == before
    assert not (target / "app-app/PWNED").exists()


def test_a_signature_for_another_file_is_refused(signed: Path, keys: Path, tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    shutil.copytree(signed, artifacts)
    secret = minisign.SecretKey.from_file(str(keys / "release.key"))
    data = (artifacts / MANIFEST).read_bytes()
    signature = secret.sign(data, trusted_comment="file:venvstacks-linux_x86_64.json")
    (artifacts / (MANIFEST + ".minisig")).write_bytes(bytes(signature))
    proc = cli("deploy", artifacts, "-t", tmp_path / "t", "--trusted-key", keys / "release.pub")
    signer = load_public_key_id(keys / "release.pub")
    assert proc.stderr == (
        f"error: {artifacts / MANIFEST}: the signature by key {signer} was made for another "
        "file ('file:venvstacks-linux_x86_64.json'); refusing to deploy\n"
    )
    assert not (tmp_path / "t").exists()


def test_a_bad_sign_key_fails_before_publishing(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("untrusted comment: x\nnope\n")
    proc = cli("publish", "-o", "never", "--sign-key", bad, project / "venvstacks.toml")
    assert (proc.returncode, proc.stderr) == (1, f"error: {bad}: not a minisign secret key\n")
    assert not (project / "never").exists()


def archive_member(archive: Path, suffix: str) -> bytes:
    with (
        archive.open("rb") as stream,
        zstandard.ZstdDecompressor().stream_reader(stream) as plain,
        tarfile.open(fileobj=plain, mode="r|") as tar,
    ):
        for member in tar:
            if member.name.endswith(suffix):
                extracted = tar.extractfile(member)
                assert extracted is not None
                return extracted.read()
    raise AssertionError(f"{archive}: no member ending in {suffix}")


def own_locked_packages(project: Path, layer: str) -> set[str]:
    """Return the layer's own packages, from its per-platform lock view."""
    group = layer.replace(".", "_")
    view = project / f"requirements/{layer}/requirements-{group}-{PLATFORM}.txt"
    return {
        line.split(" ")[0].replace("==", "@")
        for line in view.read_text().splitlines()
        if line and not line.startswith(("#", " "))
    }


@pytest.mark.parametrize("layer", ["cpython-3.11", "framework-base", "framework-upper", "app-app"])
def test_sboms_validate_and_list_exactly_the_locked_packages(
    project: Path, signed: Path, layer: str
) -> None:
    metadata = load_json(signed / f"__venvstacks__/env_metadata/{layer}.json")
    published = (signed / metadata["sbom_name"]).read_text()
    assert hashlib.sha256(published.encode()).hexdigest() == metadata["sbom_hashes"]["sha256"]
    archive = signed / metadata["archive_name"]
    assert archive_member(archive, "share/venv/metadata/venvstacks_sbom.cdx.json").decode() == published  # fmt: skip
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(published, all_errors=True)
    assert errors is None, errors
    sbom = json.loads(published)
    assert sbom["metadata"]["component"]["name"] == metadata["install_target"]
    libraries = {
        f"{c['name']}@{c['version']}": c for c in sbom["components"] if c["type"] == "library"
    }
    assert set(libraries) == own_locked_packages(project, layer)
    for name, component in libraries.items():
        assert component["purl"] == f"pkg:pypi/{name}"
        [reference] = component["externalReferences"]
        assert reference["type"] == "distribution"
        assert reference["hashes"][0]["alg"] == "SHA-256"
    interpreters = [c for c in sbom["components"] if c["name"] == "cpython"]
    if layer == "cpython-3.11":
        [interpreter] = interpreters
        assert interpreter["version"].startswith("3.11.")
        assert interpreter["purl"] == f"pkg:generic/cpython@{interpreter['version']}"
    else:
        assert interpreters == []


def test_the_file_manifest_lists_every_archived_path(signed: Path) -> None:
    metadata = load_json(signed / "__venvstacks__/env_metadata/app-app.json")
    archive = signed / metadata["archive_name"]
    text = archive_member(archive, "share/venv/metadata/venvstacks_files.json")
    assert hashlib.sha256(text).hexdigest() == metadata["file_manifest_hashes"]["sha256"]
    records = {r["path"]: r for r in json.loads(text)["files"]}
    with (
        archive.open("rb") as stream,
        zstandard.ZstdDecompressor().stream_reader(stream) as plain,
        tarfile.open(fileobj=plain, mode="r|") as tar,
    ):
        for member in tar:
            path = member.name.partition("/")[2]
            if not path or path == "share/venv/metadata/venvstacks_files.json":
                continue
            record = records.pop(path)
            kind = "folder" if member.isdir() else "symlink" if member.issym() else "file"
            assert record["kind"] == kind, path
            if kind == "file" and not record.get("rendered"):
                extracted = tar.extractfile(member)
                assert extracted is not None
                data = extracted.read()
                assert (record["size"], record["sha256"]) == (
                    len(data),
                    hashlib.sha256(data).hexdigest(),
                )
    # Left: what postinstall.py writes on the target, listed but not archived.
    assert records == {
        "pyvenv.cfg": {"kind": "file", "mode": "0644", "path": "pyvenv.cfg", "rendered": True},
        "lib/python3.11/site-packages/sitecustomize.py": {
            "kind": "file",
            "mode": "0644",
            "path": "lib/python3.11/site-packages/sitecustomize.py",
            "rendered": True,
        },
    }


def test_verify_finds_each_change_and_repair_restores_the_layer(
    signed: Path, keys: Path, tmp_path: Path
) -> None:
    target = tmp_path / "layers"
    assert cli("deploy", signed, "--target", target).returncode == 0
    app = target / "app-app"
    assert launch(app) == APP_OUTPUT  # the interpreter may write bytecode: not a finding
    fresh = cli("verify", target)
    assert (fresh.returncode, fresh.stderr) == (0, "")
    assert fresh.stdout == (
        f"Verified {target}:\n"
        "  app-app            ok\n"
        "  cpython-3.11       ok\n"
        "  framework-base     ok\n"
        "  framework-upper@1  ok\n"
    )

    site = app / "lib/python3.11/site-packages"
    launch_module = site / "app.py"
    launch_module.write_text(launch_module.read_text() + "print('tampered')\n")
    (target / "framework-base/share/venv/metadata/venvstacks_layer.json").unlink()
    (site / "extra.py").write_text("")
    (site / "intruder").mkdir()
    (site / "intruder/payload.py").write_text("")
    (app / "pyvenv.cfg").unlink()

    changed = cli("verify", target)
    assert (changed.returncode, changed.stderr) == (1, "")
    assert changed.stdout == (
        f"Verified {target}:\n"
        "  app-app            1 modified, 1 missing, 2 unexpected\n"
        "    modified: lib/python3.11/site-packages/app.py\n"
        "    missing: pyvenv.cfg\n"
        "    unexpected: lib/python3.11/site-packages/extra.py\n"
        "    unexpected: lib/python3.11/site-packages/intruder\n"
        "  cpython-3.11       ok\n"
        "  framework-base     1 missing\n"
        "    missing: share/venv/metadata/venvstacks_layer.json\n"
        "  framework-upper@1  ok\n"
    )
    report = json.loads(cli("verify", target, "--json").stdout)
    assert report["ok"] is False
    assert [layer["ok"] for layer in report["layers"]] == [False, True, False, True]

    repaired = cli("verify", target, "--repair", signed, "--trusted-key", keys / "release.pub")
    assert (repaired.returncode, repaired.stderr) == (0, "")
    assert repaired.stdout.startswith("Repaired: framework-base, app-app\n")
    assert cli("verify", target).returncode == 0
    assert not (site / "extra.py").exists()
    assert "tampered" not in launch_module.read_text()
    assert launch(app) == APP_OUTPUT


def test_verify_needs_a_deployment(tmp_path: Path) -> None:
    proc = cli("verify", tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: {tmp_path}: no deployment here (no .venvstacks-deploy.json); pass a folder "
        "'venvstacks deploy' wrote to\n"
    )
