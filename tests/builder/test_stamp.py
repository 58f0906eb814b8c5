from __future__ import annotations

from pathlib import Path

from venvstacks.builder.stamp import compute_stamp_path, is_up_to_date, load_stamp, write_stamp

INPUTS: dict[str, object] = {
    "venvstacks": "0.1.0",
    "python_platform": "x86_64-manylinux_2_28",
    "requirements_hash": "sha256:abc",
    "dynlib_exclude": ["triton/**"],
    "lower_layers": ["framework-base", "cpython-3.11"],
}


def test_stamp_sits_beside_the_layer_folder(tmp_path: Path) -> None:
    assert compute_stamp_path(tmp_path, "framework-base") == (
        tmp_path / "framework-base.last-build.json"
    )


def test_written_stamp_matches_its_inputs(tmp_path: Path) -> None:
    layer = tmp_path / "framework-base"
    layer.mkdir()
    stamp = compute_stamp_path(tmp_path, "framework-base")
    write_stamp(stamp, INPUTS)
    assert stamp.read_text() == (
        "{\n"
        '  "inputs": {\n'
        '    "dynlib_exclude": [\n'
        '      "triton/**"\n'
        "    ],\n"
        '    "lower_layers": [\n'
        '      "framework-base",\n'
        '      "cpython-3.11"\n'
        "    ],\n"
        '    "python_platform": "x86_64-manylinux_2_28",\n'
        '    "requirements_hash": "sha256:abc",\n'
        '    "venvstacks": "0.1.0"\n'
        "  }\n"
        "}\n"
    )
    assert load_stamp(stamp) == {"inputs": INPUTS}
    assert is_up_to_date(layer, stamp, INPUTS)
    assert is_up_to_date(layer, stamp, dict(reversed(INPUTS.items())))  # key order is irrelevant


def test_any_changed_input_means_out_of_date(tmp_path: Path) -> None:
    layer = tmp_path / "framework-base"
    layer.mkdir()
    stamp = compute_stamp_path(tmp_path, "framework-base")
    write_stamp(stamp, INPUTS)
    assert not is_up_to_date(layer, stamp, {**INPUTS, "requirements_hash": "sha256:def"})
    assert not is_up_to_date(layer, stamp, {**INPUTS, "dynlib_exclude": []})
    assert not is_up_to_date(layer, stamp, {**INPUTS, "runtime_version": "3.11.7"})
    assert not is_up_to_date(layer, stamp, {k: v for k, v in INPUTS.items() if k != "venvstacks"})


def test_missing_folder_or_stamp_means_out_of_date(tmp_path: Path) -> None:
    layer = tmp_path / "framework-base"
    stamp = compute_stamp_path(tmp_path, "framework-base")
    write_stamp(stamp, INPUTS)
    assert not is_up_to_date(layer, stamp, INPUTS)  # no layer folder
    layer.mkdir()
    stamp.unlink()
    assert not is_up_to_date(layer, stamp, INPUTS)  # no stamp


def test_unreadable_stamps_load_as_none(tmp_path: Path) -> None:
    stamp = tmp_path / "x.last-build.json"
    assert load_stamp(stamp) is None
    stamp.write_text("{not json")
    assert load_stamp(stamp) is None
    stamp.write_text("[1, 2]")
    assert load_stamp(stamp) is None
    (tmp_path / "x").mkdir()
    assert not is_up_to_date(tmp_path / "x", stamp, {})
