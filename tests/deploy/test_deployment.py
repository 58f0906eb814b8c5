"""Deploying a small published stack through the API: it runs, and failures change nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from tests.deploy.stacks import (
    APP,
    BASE_PYTHON,
    FRAMEWORK,
    MTIME,
    RUNTIME,
    Layers,
    add_tar_member,
    archive_layer,
    load_manifest,
    manifest_entry,
    publish,
    rehash,
    snapshot,
    write_manifest,
)
from venvstacks.archives import ArchiveEntry, ArchiveFormat
from venvstacks.deploy import DeployedApp, DeployError, DeployResult, deploy_layers
from venvstacks.deploy.manifest import compute_host_platform

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake runtime is a bash script")
FORMATS: tuple[ArchiveFormat, ...] = ("tar.xz", "tar.zst", "tar.gz", "zip")


def _run_app(result: DeployResult) -> str:
    (app,) = result.apps
    proc = subprocess.run(app.command, capture_output=True, text=True, check=True)
    return proc.stdout


def _error(artifacts: Path, target: Path, **kwargs: object) -> str:
    with pytest.raises(DeployError) as info:
        deploy_layers(artifacts, target, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


@pytest.mark.parametrize("archive_format", FORMATS)
def test_deploy_and_run(tmp_path: Path, archive_format: ArchiveFormat) -> None:
    artifacts = publish(tmp_path, archive_format)
    target = tmp_path / "layers"
    result = deploy_layers(artifacts, target)
    assert result == DeployResult(
        target=target,
        manifest_path=artifacts / "__venvstacks__/venvstacks.json",
        layers=(RUNTIME, FRAMEWORK, APP),
        deployed=(RUNTIME, FRAMEWORK, APP),
        unchanged=(),
        apps=(DeployedApp("app-x", APP, (str(target / APP / "bin/python"), "-m", "x_app")),),
    )
    assert _run_app(result) == f"app framework-x v1 {target / APP}\n"
    assert sorted(p.name for p in target.iterdir()) == [
        ".venvstacks-deploy.json",
        ".venvstacks.lock",  # the target's lock stays; its holder description goes
        APP,
        RUNTIME,
        FRAMEWORK,
    ]


def test_redeploying_unchanged_layers_does_nothing(tmp_path: Path) -> None:
    artifacts = publish(tmp_path)
    target = tmp_path / "layers"
    deploy_layers(artifacts, target)
    before = snapshot(target)
    result = deploy_layers(artifacts, target)
    assert (result.deployed, result.unchanged) == ((), (RUNTIME, FRAMEWORK, APP))
    assert result.apps[0].command == (str(target / APP / "bin/python"), "-m", "x_app")
    assert snapshot(target) == before


def test_a_changed_framework_redeploys_it_and_the_layers_above(tmp_path: Path) -> None:
    target = tmp_path / "layers"
    deploy_layers(publish(tmp_path), target)
    result = deploy_layers(publish(tmp_path, version="v2"), target)
    assert (result.deployed, result.unchanged) == ((FRAMEWORK, APP), (RUNTIME,))
    assert _run_app(result) == f"app framework-x v2 {target / APP}\n"
    assert not [p for p in target.iterdir() if p.name.startswith(".venvstacks-staging-")]


def test_include_deploys_a_layer_with_what_it_runs_on(tmp_path: Path) -> None:
    artifacts = publish(tmp_path)
    target = tmp_path / "layers"
    result = deploy_layers(artifacts, target, include=["framework-*"])
    assert result.deployed == (RUNTIME, FRAMEWORK)
    assert result.apps == ()
    assert sorted(p.name for p in target.iterdir()) == [
        ".venvstacks-deploy.json",
        ".venvstacks.lock",
        RUNTIME,
        FRAMEWORK,
    ]
    result = deploy_layers(artifacts, target, include=["app-x"])
    assert (result.deployed, result.unchanged) == ((APP,), (RUNTIME, FRAMEWORK))
    assert _run_app(result) == f"app framework-x v1 {target / APP}\n"


def test_tagged_manifests(tmp_path: Path) -> None:
    host = compute_host_platform() or "linux_x86_64"
    artifacts = publish(tmp_path, tag=host)  # writes only venvstacks-<host>.json
    target = tmp_path / "layers"
    assert deploy_layers(artifacts, target, platform=host).deployed == (RUNTIME, FRAMEWORK, APP)
    if compute_host_platform() is not None:
        assert deploy_layers(artifacts, target).unchanged == (RUNTIME, FRAMEWORK, APP)


def _deployed_v1(tmp_path: Path) -> tuple[Path, Path, dict[str, object]]:
    """Deploy v1, publish v2 (every layer changed) over it; return artifacts, target, snapshot."""
    target = tmp_path / "layers"
    deploy_layers(publish(tmp_path), target)

    def runtime_v2(layers: Layers) -> None:
        (layers[RUNTIME] / "share/v2.txt").write_text("v2\n")

    artifacts = publish(tmp_path, version="v2", change=runtime_v2)
    return artifacts, target, snapshot(target)


def test_a_changed_byte_is_refused(tmp_path: Path) -> None:
    artifacts, target, before = _deployed_v1(tmp_path)
    archive = artifacts / f"{FRAMEWORK}.tar.xz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    want = manifest_entry(load_manifest(artifacts), FRAMEWORK)["archive_hashes"]["sha256"]
    got = hashlib.sha256(data).hexdigest()
    assert _error(artifacts, target) == (
        f"{FRAMEWORK}: archive {FRAMEWORK}.tar.xz has sha256 {got}, the metadata says {want}; "
        "download it again"
    )
    assert snapshot(target) == before


def test_a_truncated_archive_is_refused(tmp_path: Path) -> None:
    artifacts, target, before = _deployed_v1(tmp_path)
    archive = artifacts / f"{APP}.tar.xz"
    size = archive.stat().st_size
    archive.write_bytes(archive.read_bytes()[:100])
    assert _error(artifacts, target) == (
        f"{APP}: archive {APP}.tar.xz has 100 bytes, the metadata says {size}; download it again"
    )
    assert snapshot(target) == before


def test_a_wrong_size_is_refused(tmp_path: Path) -> None:
    artifacts, target, before = _deployed_v1(tmp_path)
    manifest = load_manifest(artifacts)
    manifest["layers"]["runtimes"][0]["archive_size"] += 1
    write_manifest(artifacts, manifest)
    size = (artifacts / f"{RUNTIME}.tar.xz").stat().st_size
    assert _error(artifacts, target) == (
        f"{RUNTIME}: archive {RUNTIME}.tar.xz has {size} bytes, the metadata says {size + 1}; "
        "download it again"
    )
    assert snapshot(target) == before


def test_a_missing_archive_is_refused(tmp_path: Path) -> None:
    artifacts, target, before = _deployed_v1(tmp_path)
    (artifacts / f"{APP}.tar.xz").unlink()
    assert _error(artifacts, target) == (
        f"{APP}: archive {APP}.tar.xz is missing from {artifacts}; download it again"
    )
    assert snapshot(target) == before


def _republish_framework(artifacts: Path, tmp_path: Path, info: tarfile.TarInfo) -> None:
    """Replace the framework's archive with a tar.gz holding one more, hand-made member."""
    build = tmp_path / "build-v2"
    name = archive_layer(build / FRAMEWORK, artifacts, "tar.gz")
    add_tar_member(artifacts / name, info, b"evil\n")
    manifest = load_manifest(artifacts)
    manifest["layers"]["frameworks"][0]["archive_name"] = name
    write_manifest(artifacts, manifest)
    rehash(artifacts, FRAMEWORK)


@pytest.mark.parametrize(
    ("member", "detail"),
    [
        (f"{FRAMEWORK}/../evil", f"'{FRAMEWORK}/../evil' (a '..' component)"),
        ("../evil", "'../evil' (a '..' component)"),
        ("/srv/evil", "'/srv/evil' (an absolute path)"),
        (
            f"{RUNTIME}/bin/python",
            f"'{RUNTIME}/bin/python' (outside the layer folder '{FRAMEWORK}')",
        ),
    ],
)
def test_unsafe_member_paths_are_refused(tmp_path: Path, member: str, detail: str) -> None:
    artifacts, target, before = _deployed_v1(tmp_path)
    _republish_framework(artifacts, tmp_path, tarfile.TarInfo(member))
    assert _error(artifacts, target) == (
        f"{FRAMEWORK}: archive {FRAMEWORK}.tar.gz has an unsafe member {detail}; "
        "refusing to unpack it"
    )
    assert snapshot(target) == before
    assert not (tmp_path / "evil").exists()


def test_a_hard_link_is_refused(tmp_path: Path) -> None:
    artifacts, target, before = _deployed_v1(tmp_path)
    info = tarfile.TarInfo(f"{FRAMEWORK}/passwd")
    info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
    _republish_framework(artifacts, tmp_path, info)
    assert _error(artifacts, target) == (
        f"{FRAMEWORK}: archive {FRAMEWORK}.tar.gz has an unsafe member '{FRAMEWORK}/passwd' "
        "(a hard link); refusing to unpack it"
    )
    assert snapshot(target) == before


@pytest.mark.parametrize("archive_format", ["tar.xz", "zip"])
def test_a_symlink_out_of_the_target_is_refused(
    tmp_path: Path, archive_format: ArchiveFormat
) -> None:
    """A runtime whose bin/python links to the host's interpreter: outside the deployment."""
    artifacts, target, before = _deployed_v1(tmp_path)
    link = ArchiveEntry(PurePosixPath("bin/python"), "symlink", MTIME, target=str(BASE_PYTHON))
    runtime = tmp_path / "build-v2" / RUNTIME
    (runtime / "bin/python").unlink()  # the script, replaced by the link
    name = archive_layer(runtime, artifacts, archive_format, extra=(link,))
    manifest = load_manifest(artifacts)
    manifest["layers"]["runtimes"][0]["archive_name"] = name
    write_manifest(artifacts, manifest)
    rehash(artifacts, RUNTIME)
    assert _error(artifacts, target) == (
        f"{RUNTIME}: archive {name} has an unsafe member '{RUNTIME}/bin/python' "
        f"(a symlink to '{BASE_PYTHON}', outside the deployment folder); refusing to unpack it"
    )
    assert snapshot(target) == before


def test_a_failing_post_install_in_the_second_layer_keeps_the_previous_deployment(
    tmp_path: Path,
) -> None:
    target = tmp_path / "layers"
    deploy_layers(publish(tmp_path), target)
    before = snapshot(target)

    def break_framework(layers: Layers) -> None:
        (layers[RUNTIME] / "share/v2.txt").write_text("v2\n")  # the runtime changes too
        (layers[FRAMEWORK] / "postinstall.py").write_text(
            "import sys\nprint('setting up framework-x')\nsys.exit('boom: no GPU found')\n"
        )

    artifacts = publish(tmp_path, version="v2", change=break_framework)
    with pytest.raises(DeployError) as info:
        deploy_layers(artifacts, target)
    assert (
        str(info.value)
        == f"{FRAMEWORK}: postinstall.py failed with exit code 1: boom: no GPU found"
    )
    assert info.value.output == "setting up framework-x\n\nboom: no GPU found\n"
    assert snapshot(target) == before
    result = deploy_layers(publish(tmp_path, version="v1"), target)
    assert result.unchanged == (RUNTIME, FRAMEWORK, APP)  # the record still says v1


def test_an_unsafe_second_archive_leaves_a_new_target_absent(tmp_path: Path) -> None:
    artifacts = publish(tmp_path)
    name = archive_layer(tmp_path / "build-v1" / FRAMEWORK, artifacts, "tar.gz")
    add_tar_member(artifacts / name, tarfile.TarInfo("../evil"), b"evil\n")
    manifest = load_manifest(artifacts)
    manifest["layers"]["frameworks"][0]["archive_name"] = name
    write_manifest(artifacts, manifest)
    rehash(artifacts, FRAMEWORK)
    target = tmp_path / "new" / "layers"
    assert _error(artifacts, target) == (
        f"{FRAMEWORK}: archive {name} has an unsafe member '../evil' (a '..' component); "
        "refusing to unpack it"
    )
    assert not target.exists()


def test_a_layer_without_its_config_is_refused_before_anything_moves(tmp_path: Path) -> None:
    target = tmp_path / "layers"
    deploy_layers(publish(tmp_path), target)
    before = snapshot(target)

    def drop_config(layers: Layers) -> None:
        (layers[APP] / "share/venv/metadata/venvstacks_layer.json").unlink()

    artifacts = publish(tmp_path, version="v2", change=drop_config)
    message = _error(artifacts, target)
    assert message.startswith(f"{APP}: ")
    assert "can't read the layer config" in message
    assert message.endswith("; publish the layer again")
    assert snapshot(target) == before


def test_target_must_be_a_folder(tmp_path: Path) -> None:
    artifacts = publish(tmp_path)
    (tmp_path / "file").write_text("")
    assert _error(artifacts, tmp_path / "file") == (
        f"{tmp_path / 'file'}: not a folder; pass a folder to deploy the layers into"
    )
