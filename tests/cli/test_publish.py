"""``venvstacks publish`` end to end: archives, metadata, incremental runs, deploying the result.

Offline, on the stack of tests/cli/test_lock.py with an unversioned app, built
once per module.  Archives of the whole stack are written as ``tar.zst`` (its
runtime archive takes ~2 s); the slower formats archive only the small layers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pytest
import zstandard

from tests.cli.test_build import CONFIG, launch, run_postinstall
from tests.cli.test_lock import SPEC, make_wheels, venvstacks
from venvstacks.archives import ArchiveEntry, write_archive
from venvstacks.builder.stack import compute_host_platform
from venvstacks.pipeline import PublishOptions, publish_stack
from venvstacks.publish import publisher

pytestmark = pytest.mark.slow

# Unversioned, so an edited launch module changes neither the app's lock nor its name.
UNVERSIONED_SPEC = SPEC.removesuffix("versioned = true\n")
SMALL_LAYERS = ("--include", "framework-*", "--include", "app-*")
INSTALL_TARGETS = {
    "cpython-3.11": "cpython-3.11",
    "framework-base": "framework-base",
    "framework-upper": "framework-upper@1",
    "app-app": "app-app",
}
APP_OUTPUT = "app 1.0 1.0 1.0\n"
PLATFORM = compute_host_platform().value


def make_project(root: Path, mirror: Path) -> Path:
    make_wheels(root / "wheels")
    (root / "launch").mkdir(parents=True)
    (root / "launch" / "app.py").write_text(
        "import alpha, beta, gamma\n"
        "print('app', alpha.__version__, beta.__version__, gamma.__version__)\n"
    )
    (root / "venvstacks.toml").write_text(UNVERSIONED_SPEC)
    run_ok(root, "lock", "--python-mirror", str(mirror))
    run_ok(root, "build", "--python-mirror", str(mirror))
    return root


def run_ok(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = venvstacks(project, *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def publish(project: Path, output: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ok(project, "publish", "--output-dir", output, *args)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def layer_metadata(output: Path, layer: str) -> dict[str, Any]:
    data: dict[str, Any] = load_json(output / "__venvstacks__/env_metadata" / f"{layer}.json")
    return data


def manifest_layers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    kinds = ("runtimes", "frameworks", "applications")
    return [layer for kind in kinds for layer in manifest["layers"][kind]]


def archive_states(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """Return the ``  <archive>  (archived|unchanged)`` lines of a publication."""
    return [line.strip() for line in proc.stdout.splitlines() if line.startswith("  ")]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_tar(archive: Path, stream: IO[bytes]) -> tarfile.TarFile:
    """Open a published tar archive for sequential reading (tarfile can't read zstd)."""
    if archive.name.endswith(".tar.zst"):
        reader = zstandard.ZstdDecompressor().stream_reader(stream)
        return tarfile.open(fileobj=reader, mode="r|")
    return tarfile.open(fileobj=stream, mode="r|*")


def tar_members(archive: Path) -> dict[str, tarfile.TarInfo]:
    with archive.open("rb") as stream, open_tar(archive, stream) as tar:
        return {member.name: member for member in tar}


def unpack(archive: Path, target: Path) -> None:
    with archive.open("rb") as stream, open_tar(archive, stream) as tar:
        tar.extractall(target, filter="tar")


def assert_claims_hold(output: Path) -> None:
    """Every metadata file names an archive that is there, with its size and hash."""
    for path in (output / "__venvstacks__").rglob("*.json"):
        if path.parent.name == "sbom":
            continue
        data = load_json(path)
        for metadata in manifest_layers(data) if "layers" in data else [data]:
            archive = output / metadata["archive_name"]
            assert archive.is_file(), path
            assert archive.stat().st_size == metadata["archive_size"], path
            assert sha256(archive) == metadata["archive_hashes"]["sha256"], path


@pytest.fixture(scope="module", autouse=True)
def _no_source_date_epoch() -> Iterator[None]:
    # Archive mtimes are clamped to the lock time unless SOURCE_DATE_EPOCH is set.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SOURCE_DATE_EPOCH", raising=False)
        yield


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, python_mirror: Path) -> Path:
    """Build the stack once for the tests that only publish it, each to its own folder."""
    return make_project(tmp_path_factory.mktemp("publish") / "project", python_mirror)


@pytest.fixture(scope="module")
def published(project: Path) -> Path:
    """Every layer of *project* published as tar.zst (read only: tests must not write to it)."""
    proc = publish(project, "zst-a", "--format", "tar.zst")
    assert archive_states(proc) == [
        "cpython-3.11.tar.zst  (archived)",
        "framework-base.tar.zst  (archived)",
        "framework-upper@1.tar.zst  (archived)",
        "app-app.tar.zst  (archived)",
    ]
    return project / "zst-a"


@pytest.mark.parametrize("archive_format", ["tar.zst", "tar.gz", "tar.xz", "zip"])
def test_publishing_twice_gives_identical_bytes(
    project: Path, published: Path, archive_format: str
) -> None:
    if archive_format == "tar.zst":
        first = published
        publish(project, "zst-b", "--format", archive_format)
    else:  # the runtime's archive would take too long in these formats
        first = project / f"{archive_format}-a"
        publish(project, first.name, "--format", archive_format, *SMALL_LAYERS)
        publish(project, f"{archive_format}-b", "--format", archive_format, *SMALL_LAYERS)
    second = project / f"{first.name[:-2]}-b"
    files = tree_bytes(first)
    assert files == tree_bytes(second)
    archives = sorted(name for name in files if not name.startswith("__venvstacks__"))
    expected = [
        f"{target}.{archive_format}"
        for layer, target in INSTALL_TARGETS.items()
        if archive_format == "tar.zst" or layer != "cpython-3.11"
    ]
    assert archives == sorted(expected)
    app = layer_metadata(first, "app-app")
    assert app["archive_format"] == archive_format
    assert app["archive_name"] == f"app-app.{archive_format}"
    assert_claims_hold(first)
    if archive_format == "zip":  # file contents are compressed; folders and symlinks stored
        with zipfile.ZipFile(first / "framework-base.zip") as archive:
            members = archive.infolist()
        py = [m for m in members if m.filename.endswith(".py")]
        assert py
        assert {m.compress_type for m in py} == {zipfile.ZIP_DEFLATED}


def test_metadata_fields(project: Path, published: Path) -> None:
    runtime = layer_metadata(published, "cpython-3.11")
    app = layer_metadata(published, "app-app")
    lock_meta = load_json(project / "requirements/app-app/pylock.app-app.meta.json")
    archive = published / "app-app.tar.zst"
    assert app == {
        "app_launch_module": "app",
        "app_launch_module_hash": app["app_launch_module_hash"],
        "archive_build": 1,
        "archive_format": "tar.zst",
        "archive_hashes": {"sha256": sha256(archive)},
        "archive_name": "app-app.tar.zst",
        "archive_size": archive.stat().st_size,
        "bound_to_implementation": False,
        "build_tools": app["build_tools"],
        "file_manifest_hashes": {"sha256": file_manifest_sha256(archive)},
        "install_target": "app-app",
        "layer_inputs_hash": app["layer_inputs_hash"],
        "layer_name": "app-app",
        "lock_version": 1,
        "locked_at": lock_meta["locked_at"],
        "python_implementation": "cpython@3.11",
        "required_layers": ["framework-upper@1", "framework-base"],
        "requirements_hash": lock_meta["requirements_hash"],
        "runtime_layer": "cpython-3.11",
        "sbom_hashes": {"sha256": sha256(published / "__venvstacks__/sbom/app-app.cdx.json")},
        "sbom_name": "__venvstacks__/sbom/app-app.cdx.json",
        "target_platform": PLATFORM,
    }
    assert sorted(app["build_tools"]) == ["python", "uv", "venvstacks"]
    assert app["app_launch_module_hash"].startswith("sha256:")
    assert app["layer_inputs_hash"].startswith("sha256:")
    assert runtime["runtime_layer"] == "cpython-3.11"
    assert runtime["bound_to_implementation"] is True
    assert "required_layers" not in runtime
    manifest = load_json(published / "__venvstacks__/venvstacks.json")
    assert [m["layer_name"] for m in manifest_layers(manifest)] == list(INSTALL_TARGETS)
    entries = manifest_layers(manifest)
    assert [{k: v for k, v in e.items() if k != "layer_metadata_hashes"} for e in entries] == [
        layer_metadata(published, n) for n in INSTALL_TARGETS
    ]


def file_manifest_sha256(archive: Path) -> str:
    with archive.open("rb") as stream, open_tar(archive, stream) as tar:
        for member in tar:
            if member.name.endswith("share/venv/metadata/venvstacks_files.json"):
                extracted = tar.extractfile(member)
                assert extracted is not None
                return hashlib.sha256(extracted.read()).hexdigest()
    raise AssertionError(f"{archive}: no file manifest")


def test_unchanged_layers_are_not_archived_again(tmp_path: Path, python_mirror: Path) -> None:
    project = make_project(tmp_path / "project", python_mirror)
    out = project / "out"
    publish(project, "out", "--format", "tar.zst", *SMALL_LAYERS)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*.tar.zst")}
    proc = publish(project, "out", "--format", "tar.zst", *SMALL_LAYERS)
    assert archive_states(proc) == [
        "framework-base.tar.zst  (unchanged)",
        "framework-upper@1.tar.zst  (unchanged)",
        "app-app.tar.zst  (unchanged)",
    ]
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*.tar.zst")} == before

    # A changed launch module: publishing the old build would be wrong, so it is refused...
    launch_module = project / "launch/app.py"
    launch_module.write_text(launch_module.read_text() + "print('changed')\n")
    proc = venvstacks(project, "publish", "--output-dir", "out", "--format", "tar.zst")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: app-app: built from older inputs (launch or support modules, post-install "
        "script or lower layers); run 'venvstacks build --include app-app' first\n"
    )
    # ...and once rebuilt, only the app is archived again (its lock did not change).
    run_ok(project, "build", "--python-mirror", str(python_mirror))
    proc = publish(project, "out", "--format", "tar.zst", *SMALL_LAYERS)
    assert archive_states(proc) == [
        "framework-base.tar.zst  (unchanged)",
        "framework-upper@1.tar.zst  (unchanged)",
        "app-app.tar.zst  (archived)",
    ]
    app = layer_metadata(out, "app-app")
    assert app["archive_build"] == 2
    assert (
        app["archive_hashes"]["sha256"] != hashlib.sha256(before["app-app.tar.zst"][1]).hexdigest()
    )
    assert layer_metadata(out, "framework-base")["archive_build"] == 1

    # --force archives every selected layer again, with the next build number.
    proc = publish(project, "out", "--format", "tar.zst", "--force", *SMALL_LAYERS)
    assert archive_states(proc) == [
        "framework-base.tar.zst  (archived)",
        "framework-upper@1.tar.zst  (archived)",
        "app-app.tar.zst  (archived)",
    ]
    assert [layer_metadata(out, n)["archive_build"] for n in list(INSTALL_TARGETS)[1:]] == [
        2, 2, 3,
    ]  # fmt: skip
    # Same content, so the same bytes.
    assert (out / "framework-base.tar.zst").read_bytes() == before["framework-base.tar.zst"][1]
    assert_claims_hold(out)


def test_tagged_output_names(project: Path) -> None:
    publish(project, "tagged", "--format", "tar.zst", "--tag-outputs", *SMALL_LAYERS)
    proc = publish(
        project, "tagged", "--format", "tar.zst", "--tag-outputs", "--force", "--include", "app-*"
    )
    assert archive_states(proc) == [f"app-app-{PLATFORM}-2.tar.zst  (archived)"]
    assert (
        proc.stdout.splitlines()[-1] == f"Stack manifest: __venvstacks__/venvstacks-{PLATFORM}.json"
    )
    out = project / "tagged"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        f"__venvstacks__/env_metadata/app-app-{PLATFORM}.json",
        f"__venvstacks__/env_metadata/framework-base-{PLATFORM}.json",
        f"__venvstacks__/env_metadata/framework-upper-{PLATFORM}.json",
        f"__venvstacks__/sbom/app-app-{PLATFORM}.cdx.json",
        f"__venvstacks__/sbom/framework-base-{PLATFORM}.cdx.json",
        f"__venvstacks__/sbom/framework-upper-{PLATFORM}.cdx.json",
        f"__venvstacks__/venvstacks-{PLATFORM}.json",
        f"app-app-{PLATFORM}-1.tar.zst",  # the previous build's archive stays
        f"app-app-{PLATFORM}-2.tar.zst",
        f"framework-base-{PLATFORM}-1.tar.zst",
        f"framework-upper@1-{PLATFORM}-1.tar.zst",
    ]
    app = load_json(out / f"__venvstacks__/env_metadata/app-app-{PLATFORM}.json")
    assert (app["archive_name"], app["archive_build"]) == (f"app-app-{PLATFORM}-2.tar.zst", 2)
    manifest = load_json(out / f"__venvstacks__/venvstacks-{PLATFORM}.json")
    app_path = out / f"__venvstacks__/env_metadata/app-app-{PLATFORM}.json"
    entry = {**app, "layer_metadata_hashes": {"sha256": sha256(app_path)}}
    assert manifest == {"layers": {"applications": [entry], "frameworks": [], "runtimes": []}}
    assert_claims_hold(out)


def test_dry_run_writes_nothing(project: Path, published: Path) -> None:
    proc = publish(project, "dry", "--format", "tar.gz", "--dry-run", *SMALL_LAYERS)
    assert not (project / "dry").exists()
    lines = proc.stdout.splitlines()
    assert lines[0] == "Dry run: this is what would be published:"
    assert lines[-1] == f"Target folder: {project / 'dry'}"
    layers = manifest_layers(json.loads("\n".join(lines[1:-1])))
    assert [(m["archive_name"], m["archive_build"]) for m in layers] == [
        ("framework-base.tar.gz", 1), ("framework-upper@1.tar.gz", 1), ("app-app.tar.gz", 1),
    ]  # fmt: skip
    assert not [m for m in layers if {"archive_size", "archive_hashes", "build_tools"} & set(m)]
    # Into a folder published before, a forced dry run shows the next build number.
    before = {
        p: (p.stat().st_mtime_ns, p.read_bytes()) for p in published.rglob("*") if p.is_file()
    }
    proc = publish(
        project, published.name, "--format", "tar.zst", "--dry-run", "--force", "--include", "app-*"
    )
    (app,) = manifest_layers(json.loads("\n".join(proc.stdout.splitlines()[1:-1])))
    assert (app["archive_name"], app["archive_build"]) == ("app-app.tar.zst", 2)
    assert "archive_size" not in app
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in published.rglob("*") if p.is_file()}
    assert after == before


def test_json_prints_the_manifest(project: Path) -> None:
    proc = publish(project, "json-out", "--format", "tar.gz", "--json", *SMALL_LAYERS)
    manifest = json.loads(proc.stdout)
    assert manifest == load_json(project / "json-out/__venvstacks__/venvstacks.json")
    assert [m["archive_name"] for m in manifest_layers(manifest)] == [
        "framework-base.tar.gz", "framework-upper@1.tar.gz", "app-app.tar.gz",
    ]  # fmt: skip


def test_command_line_errors(project: Path) -> None:
    proc = venvstacks(project, "publish", "--format", "tar.bz2")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        "Error: Invalid value: 'tar.bz2' is not one of tar.xz, tar.zst, tar.gz, zip"
    )
    # As in venvstacks 0.8, publish neither locks nor builds.
    for option in ("--lock", "--build", "--publish", "--clean"):
        proc = venvstacks(project, "publish", option)
        assert proc.returncode == 2
        assert proc.stderr.splitlines()[-1].startswith(f"Error: No such option: {option} ")


def test_unbuilt_layer_is_named(project: Path, python_mirror: Path) -> None:
    run_ok(
        project, "build", "--python-mirror", str(python_mirror), "--build-dir", "_partial",
        "--include", "framework-base",
    )  # fmt: skip
    proc = venvstacks(project, "publish", "--build-dir", "_partial", "--output-dir", "partial")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: framework-upper: not built yet; run 'venvstacks build --include "
        "framework-upper' first\n"
    )
    assert not (project / "partial").exists()


def test_archive_contents(project: Path, published: Path) -> None:
    assert (project / "_build/app-app/.lock").exists()  # left out below
    assert (project / "_build/app-app/pyvenv.cfg").exists()
    for layer, target in INSTALL_TARGETS.items():
        metadata = layer_metadata(published, layer)
        locked_at = int(datetime.fromisoformat(metadata["locked_at"]).timestamp())
        members = tar_members(published / metadata["archive_name"])
        names = list(members)
        assert names[0] == target
        assert all(name.startswith(f"{target}/") for name in names[1:]), layer
        assert names == sorted(names, key=lambda n: n.split("/"))
        assert f"{target}/postinstall.py" in members
        assert f"{target}/{CONFIG.as_posix()}" in members
        assert f"{target}/pyvenv.cfg" not in members
        assert not [n for n in names if n.endswith("/sitecustomize.py")]
        assert not [n for n in names if n.count("/") == 1 and n.split("/")[1].startswith(".")]
        assert [n for n in names if "/__pycache__/" in n and n.endswith(".cpython-311.pyc")]
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members.values()} == {
            (0, 0, "root", "root")
        }
        assert max(m.mtime for m in members.values()) <= locked_at
        assert not [n for n, m in members.items() if m.mode & 0o7022 and not m.issym()]
    app = tar_members(published / "app-app.tar.zst")
    python = app["app-app/bin/python"]
    assert python.issym()
    assert python.linkname == "../../cpython-3.11/bin/python"
    upper = tar_members(published / "framework-upper@1.tar.zst")
    assert upper["framework-upper@1/bin/python"].linkname == "../../cpython-3.11/bin/python"


def test_source_date_epoch_clamps_mtimes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000000000")
    publish(project, "epoch", "--format", "tar.gz", "--include", "framework-base")
    members = tar_members(project / "epoch/framework-base.tar.gz")
    assert max(m.mtime for m in members.values()) == 1_000_000_000


def test_interrupted_publish_leaves_consistent_metadata(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = PublishOptions(
        include=("framework-*", "app-*"), output_dir=Path("interrupted"), archive_format="tar.zst"
    )
    spec = project / "venvstacks.toml"
    out = project / "interrupted"
    publish_stack(spec, options)
    previous = tree_bytes(out)

    # Archive every layer again, with other mtimes (so other bytes), failing in the middle
    # of the second layer's archive.
    original = write_archive

    def failing(entries: Iterable[ArchiveEntry], destination: Path, **kwargs: Any) -> None:
        if kwargs["root_name"] != "framework-upper@1":
            original(entries, destination, **kwargs)
            return

        def broken() -> Iterator[ArchiveEntry]:
            for index, entry in enumerate(entries):
                if index == 5:
                    raise OSError("disk full")
                yield entry

        original(broken(), destination, **kwargs)

    # Patched where the publisher looks it up (it imports the name from venvstacks.archives).
    monkeypatch.setattr(publisher, "write_archive", failing)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000000000")
    with pytest.raises(OSError, match="disk full"):
        publish_stack(spec, dataclasses.replace(options, force=True))
    assert_claims_hold(out)
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporary files
    # The failed layer keeps its previous archive and metadata.
    assert (out / "framework-upper@1.tar.zst").read_bytes() == previous["framework-upper@1.tar.zst"]
    upper = "__venvstacks__/env_metadata/framework-upper.json"
    assert (out / upper).read_bytes() == previous[upper]
    assert (out / "app-app.tar.zst").read_bytes() != previous["app-app.tar.zst"]
    assert [layer_metadata(out, n)["archive_build"] for n in list(INSTALL_TARGETS)[1:]] == [
        2, 1, 2,
    ]  # fmt: skip

    # The next publication finds every archive complete, so it has nothing to archive again.
    monkeypatch.setattr(publisher, "write_archive", original)
    published = publish_stack(spec, options)
    assert [p.rebuilt for p in published.layers] == [False, False, False]
    assert load_json(out / "__venvstacks__/venvstacks.json") == published.manifest
    assert_claims_hold(out)


def test_published_archives_deploy_and_run(published: Path, tmp_path: Path) -> None:
    deployed = tmp_path / "deployed"
    layers = manifest_layers(load_json(published / "__venvstacks__/venvstacks.json"))
    for metadata in layers:
        unpack(published / metadata["archive_name"], deployed)
    assert sorted(p.name for p in deployed.iterdir()) == sorted(INSTALL_TARGETS.values())
    for metadata in layers:  # runtime first
        run_postinstall(deployed / metadata["install_target"])
    app = deployed / "app-app"
    assert launch(app) == APP_OUTPUT
    config = load_json(app / CONFIG)
    proc = subprocess.run(
        [app / config["python"], "-c", "import sys, alpha; print(sys.path, alpha.__file__)"],
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert "_build" not in proc.stdout
    assert str(deployed / "framework-upper@1") in proc.stdout
