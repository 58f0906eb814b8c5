"""Checking a layer folder against its file manifest (fake layers, no deployment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from venvstacks.archives import collect_entries
from venvstacks.deploy.integrity import check_layer, is_interpreter_bytecode
from venvstacks.file_manifest import FILE_MANIFEST_PATH, compute_file_records, render_file_manifest


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    root = tmp_path / "layer"
    (root / "lib/__pycache__").mkdir(parents=True)
    (root / "lib/mod.py").write_text("x = 1\n")
    (root / "lib/__pycache__/mod.cpython-311.pyc").write_bytes(b"pyc")
    (root / "bin").mkdir()
    (root / "bin/python").symlink_to("../runtime/bin/python")
    manifest = root / FILE_MANIFEST_PATH
    manifest.parent.mkdir(parents=True)
    records = compute_file_records(collect_entries(root), [("pyvenv.cfg", "file")])
    (root / "pyvenv.cfg").write_text("home = /somewhere\n")
    manifest.write_text(render_file_manifest(records))
    return root


def test_an_untouched_layer_passes(layer: Path) -> None:
    assert check_layer(layer).ok


def test_interpreter_bytecode_is_not_a_finding(layer: Path) -> None:
    (layer / "lib/__pycache__/mod.cpython-311.opt-1.pyc").write_bytes(b"")
    (layer / "__pycache__").mkdir()
    (layer / "__pycache__/orphan.cpython-311.pyc").write_bytes(b"")
    check = check_layer(layer)
    assert check.unexpected == ("__pycache__/orphan.cpython-311.pyc",)


def test_changes_are_found(layer: Path) -> None:
    (layer / "lib/__pycache__/mod.cpython-311.pyc").write_bytes(b"pyX")  # same size
    (layer / "lib/mod.py").chmod(0o755)
    (layer / "bin/python").unlink()
    (layer / "bin/python").symlink_to("/usr/bin/python3")
    (layer / "pyvenv.cfg").write_text("rendered content may differ\n")
    (layer / "new").mkdir()
    (layer / "new/a.txt").write_text("")
    check = check_layer(layer)
    assert check.modified == ("bin/python", "lib/__pycache__/mod.cpython-311.pyc", "lib/mod.py")
    assert (check.missing, check.unexpected) == ((), ("new",))
    assert not check.rendered_affected
    (layer / "pyvenv.cfg").unlink()
    assert check_layer(layer).rendered_affected


def test_a_layer_without_a_manifest_is_not_checked(tmp_path: Path) -> None:
    check = check_layer(tmp_path)
    assert not check.ok
    assert check.problem == (
        "no file manifest (published without one, by venvstacks 0.8 or older); "
        "deploy it from a newer publication to verify it"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("lib/__pycache__/mod.cpython-311.pyc", True),
        ("lib/__pycache__/mod.cpython-311.opt-2.pyc", True),
        ("lib/__pycache__", True),
        ("lib/__pycache__/other.cpython-311.pyc", False),
        ("lib/mod.pyc", False),
        ("lib/__pycache__/mod.txt", False),
    ],
)
def test_is_interpreter_bytecode(path: str, expected: bool) -> None:
    assert is_interpreter_bytecode(path, {"lib/mod.py"}) is expected
