from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from venvstacks.deploy.manifest import (
    ManifestLayer,
    compute_host_platform,
    find_manifest_path,
    load_manifest,
    parse_manifest,
)
from venvstacks.errors import DeployError
from venvstacks.spec.naming import LayerKind

SHA = "ab" * 32
PATH = Path("/artifacts/__venvstacks__/venvstacks.json")


def _entry(install_target: str, **fields: Any) -> dict[str, Any]:
    return {
        "layer_name": install_target.split("@", maxsplit=1)[0],
        "install_target": install_target,
        "runtime_layer": "cpython-3.11",
        "archive_name": f"{install_target}.tar.xz",
        "archive_size": 10,
        "archive_hashes": {"sha256": SHA},
        "lock_version": 2,
        "unknown": ["ignored"],
        **fields,
    }


def _manifest(**kinds: list[dict[str, Any]]) -> str:
    return json.dumps({"layers": kinds})


def _problem(text: str) -> str:
    with pytest.raises(DeployError) as info:
        parse_manifest(PATH, text)
    return str(info.value)


def test_layers_in_kind_order_with_unknown_keys_ignored() -> None:
    manifest = parse_manifest(
        PATH,
        _manifest(
            applications=[
                _entry("app-x@1", required_layers=["framework-x@2"], app_launch_module="x")
            ],
            frameworks=[_entry("framework-x@2", required_layers=[])],
            runtimes=[_entry("cpython-3.11")],
        ),
    )
    assert manifest.artifact_dir == Path("/artifacts")
    assert [(la.kind, la.install_target) for la in manifest.layers] == [
        (LayerKind.RUNTIME, "cpython-3.11"),
        (LayerKind.FRAMEWORK, "framework-x@2"),
        (LayerKind.APPLICATION, "app-x@1"),
    ]
    assert manifest.layers[2] == ManifestLayer(
        kind=LayerKind.APPLICATION,
        layer_name="app-x",
        install_target="app-x@1",  # type: ignore[arg-type]
        runtime_layer="cpython-3.11",  # type: ignore[arg-type]
        required_layers=("framework-x@2",),  # type: ignore[arg-type]
        launch_module="x",
        archive_name="app-x@1.tar.xz",
        archive_size=10,
        archive_sha256=SHA,
    )
    assert manifest.layers[0].dependencies == ()
    assert manifest.layers[2].dependencies == ("cpython-3.11", "framework-x@2")
    assert manifest.find("framework-x@2") is manifest.layers[1]
    assert manifest.find("nope") is None


def test_unpacked_size_is_read_when_present() -> None:
    text = _manifest(runtimes=[_entry("rt", unpacked_size=12345)], frameworks=[_entry("fw")])
    assert [la.unpacked_size for la in parse_manifest(PATH, text).layers] == [12345, None]


def test_uppercase_hashes_are_accepted() -> None:
    text = _manifest(runtimes=[_entry("rt", archive_hashes={"sha256": SHA.upper()})])
    assert parse_manifest(PATH, text).layers[0].archive_sha256 == SHA


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "Invalid JSON: EOF while parsing an object at line 1 column 1"),
        ("{}", "layers: Field required"),
        (
            _manifest(runtimes=[_entry("rt", archive_size="10")]),
            "layers.runtimes[0].archive_size: Input should be a valid integer",
        ),
        (
            _manifest(runtimes=[_entry("rt", archive_size=-1)]),
            "layers.runtimes[0].archive_size: Input should be greater than or equal to 0",
        ),
        (
            _manifest(runtimes=[_entry("rt", archive_hashes={"sha256": "abc"})]),
            "layers.runtimes[0].archive_hashes.sha256: 'abc' is not a sha256 digest (64 hex digits)",
        ),
        (
            _manifest(frameworks=[_entry("../evil", archive_name="evil.tar.xz")]),
            "layers.frameworks[0].install_target: '../evil' is not a plain folder name",
        ),
        (
            _manifest(frameworks=[_entry("fw", required_layers=["a/b"])]),
            "layers.frameworks[0].required_layers[0]: 'a/b' is not a plain folder name",
        ),
        (
            _manifest(applications=[_entry(".hidden")]),
            "layers.applications[0].install_target: '.hidden' is not a plain folder name",
        ),
        *(
            (
                _manifest(runtimes=[_entry("rt", archive_name=name)]),
                (
                    f"layers.runtimes[0].archive_name: {name!r} is not a plain file name (archives "
                    "sit directly in the artifact folder)"
                ),
            )
            for name in (
                "../rt.tar.xz",
                "/srv/rt.tar.xz",
                "sub/dir/rt.tar.xz",
                "sub\\rt.tar.xz",
                "C:rt.tar.xz",
                "..",
                "",
            )
        ),
        (
            _manifest(runtimes=[_entry("rt", unpacked_size=-1)]),
            "layers.runtimes[0].unpacked_size: Input should be greater than or equal to 0",
        ),
        (
            _manifest(runtimes=[_entry("rt", archive_name="rt.rar")]),
            "layers.runtimes[0].archive_name: 'rt.rar' is not a .tar.xz, .tar.zst, .tar.gz, .zip archive",
        ),
        (
            _manifest(runtimes=[_entry("rt"), _entry("rt")]),
            "layers.runtimes[1].install_target: 'rt' is listed more than once",
        ),
        (
            _manifest(runtimes=[_entry("rt", archive_size="1", archive_hashes={})]),
            "layers.runtimes[0].archive_size: Input should be a valid integer (and 1 more problem)",
        ),
    ],
)
def test_invalid_manifests(text: str, problem: str) -> None:
    assert _problem(text) == f"{PATH}: {problem}"


def test_find_manifest_prefers_the_untagged_one(tmp_path: Path) -> None:
    folder = tmp_path / "__venvstacks__"
    folder.mkdir()
    (folder / "venvstacks-linux_x86_64.json").write_text("{}")
    assert (
        find_manifest_path(tmp_path, host="linux_x86_64") == folder / "venvstacks-linux_x86_64.json"
    )
    (folder / "venvstacks.json").write_text("{}")
    assert find_manifest_path(tmp_path, host="linux_x86_64") == folder / "venvstacks.json"
    assert (
        find_manifest_path(tmp_path, "linux_x86_64", host="win_amd64")
        == folder / "venvstacks-linux_x86_64.json"
    )


def test_missing_manifests(tmp_path: Path) -> None:
    with pytest.raises(DeployError) as info:
        find_manifest_path(tmp_path, host="linux_x86_64")
    assert str(info.value) == (
        f"{tmp_path}: no __venvstacks__/venvstacks.json or venvstacks-linux_x86_64.json; "
        "pass the folder 'venvstacks publish' wrote the layers to"
    )
    (tmp_path / "__venvstacks__").mkdir()
    (tmp_path / "__venvstacks__/venvstacks-win_amd64.json").write_text("{}")
    with pytest.raises(DeployError) as info:
        find_manifest_path(tmp_path, host="linux_x86_64")
    assert str(info.value) == (
        f"{tmp_path}: no __venvstacks__/venvstacks.json or venvstacks-linux_x86_64.json "
        "(found venvstacks-win_amd64.json; choose one with --platform); "
        "pass the folder 'venvstacks publish' wrote the layers to"
    )
    with pytest.raises(DeployError) as info:
        find_manifest_path(tmp_path, "macosx_arm64")
    assert str(info.value) == (
        f"{tmp_path}/__venvstacks__/venvstacks-macosx_arm64.json: not found; "
        "publish the layers for macosx_arm64 first"
    )


def test_missing_artifact_folder(tmp_path: Path) -> None:
    with pytest.raises(DeployError) as info:
        load_manifest(tmp_path / "nope")
    assert str(info.value) == (
        f"{tmp_path / 'nope'}: no such folder; pass the folder 'venvstacks publish' wrote the layers to"
    )


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [
        ("linux", "x86_64", "linux_x86_64"),
        ("linux", "aarch64", "linux_aarch64"),
        ("darwin", "arm64", "macosx_arm64"),
        ("darwin", "x86_64", "macosx_x86_64"),
        ("win32", "AMD64", "win_amd64"),
        ("win32", "ARM64", "win_arm64"),
        ("linux", "riscv64", None),
        ("freebsd14", "amd64", None),
    ],
)
def test_host_platform(system: str, machine: str, expected: str | None) -> None:
    assert compute_host_platform(system, machine) == expected
