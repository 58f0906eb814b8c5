from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from venvstacks.builder.stamp import (
    INNER_STAMP_NAME,
    compute_stamp_path,
    install_layer,
    is_up_to_date,
    load_layer_stamp,
    load_stamp,
    recover_build_folder,
    write_stamp,
)

INPUTS: dict[str, object] = {
    "venvstacks": "0.1.0",
    "python_platform": "x86_64-manylinux_2_28",
    "requirements_hash": "sha256:abc",
    "dynlib_exclude": ["triton/**"],
    "lower_layers": ["framework-base", "cpython-3.11"],
}
NEW_INPUTS: dict[str, object] = {**INPUTS, "requirements_hash": "sha256:def"}


def stage(build_dir: Path, name: str, content: str) -> Path:
    staging = build_dir / f".{name}.staging"
    staging.mkdir(parents=True)
    (staging / "content.txt").write_text(content)
    return staging


def built(build_dir: Path, name: str = "framework-base") -> str | None:
    """Return the content of the layer under *name*, or None."""
    path = build_dir / name / "content.txt"
    return path.read_text() if path.exists() else None


def test_stamp_sits_beside_the_layer_folder(tmp_path: Path) -> None:
    assert compute_stamp_path(tmp_path, "framework-base") == (
        tmp_path / "framework-base.last-build.json"
    )


def test_written_stamp_matches_its_inputs(tmp_path: Path) -> None:
    install_layer(stage(tmp_path, "framework-base", "v1"), tmp_path / "framework-base", INPUTS)
    stamp = compute_stamp_path(tmp_path, "framework-base")
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
    assert (tmp_path / "framework-base" / INNER_STAMP_NAME).read_bytes() == stamp.read_bytes()
    assert load_stamp(stamp) == {"inputs": INPUTS}
    assert is_up_to_date(tmp_path, "framework-base", INPUTS)
    # key order is irrelevant
    assert is_up_to_date(tmp_path, "framework-base", dict(reversed(INPUTS.items())))
    assert built(tmp_path) == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "framework-base",
        "framework-base.last-build.json",
    ]


def test_any_changed_input_means_out_of_date(tmp_path: Path) -> None:
    install_layer(stage(tmp_path, "framework-base", "v1"), tmp_path / "framework-base", INPUTS)
    assert not is_up_to_date(tmp_path, "framework-base", NEW_INPUTS)
    assert not is_up_to_date(tmp_path, "framework-base", {**INPUTS, "dynlib_exclude": []})
    assert not is_up_to_date(tmp_path, "framework-base", {**INPUTS, "runtime_version": "3.11.7"})
    assert not is_up_to_date(
        tmp_path, "framework-base", {k: v for k, v in INPUTS.items() if k != "venvstacks"}
    )


def test_both_stamps_must_agree(tmp_path: Path) -> None:
    install_layer(stage(tmp_path, "framework-base", "v1"), tmp_path / "framework-base", INPUTS)
    outer = compute_stamp_path(tmp_path, "framework-base")
    outer.unlink()
    assert not is_up_to_date(tmp_path, "framework-base", INPUTS)  # no outer stamp
    write_stamp(outer, NEW_INPUTS)
    assert not is_up_to_date(tmp_path, "framework-base", NEW_INPUTS)  # claims another folder
    assert load_layer_stamp(tmp_path, "framework-base") is None
    write_stamp(outer, INPUTS)
    (tmp_path / "framework-base" / INNER_STAMP_NAME).unlink()
    assert not is_up_to_date(tmp_path, "framework-base", INPUTS)  # a folder without its stamp


def test_missing_folder_means_out_of_date(tmp_path: Path) -> None:
    write_stamp(compute_stamp_path(tmp_path, "framework-base"), INPUTS)
    assert not is_up_to_date(tmp_path, "framework-base", INPUTS)


def test_a_runtime_installed_for_locking_gets_no_stamp(tmp_path: Path) -> None:
    install_layer(stage(tmp_path, "cpython-3.11", "full"), tmp_path / "cpython-3.11", INPUTS)
    install_layer(stage(tmp_path, "cpython-3.11", "base"), tmp_path / "cpython-3.11", None)
    assert built(tmp_path, "cpython-3.11") == "base"
    assert not compute_stamp_path(tmp_path, "cpython-3.11").exists()
    assert not is_up_to_date(tmp_path, "cpython-3.11", INPUTS)


def test_unreadable_stamps_load_as_none(tmp_path: Path) -> None:
    stamp = tmp_path / "x.last-build.json"
    assert load_stamp(stamp) is None
    stamp.write_text("{not json")
    assert load_stamp(stamp) is None
    stamp.write_text("[1, 2]")
    assert load_stamp(stamp) is None
    (tmp_path / "x").mkdir()
    assert not is_up_to_date(tmp_path, "x", {})


class Killed(BaseException):
    """Stands for the process being killed at one file-system mutation."""


def kill_at(monkeypatch: pytest.MonkeyPatch, step: int) -> list[int]:
    """Make the *step*-th rename, unlink, rmtree or file replacement raise `Killed`."""
    import shutil  # noqa: PLC0415

    count = [0]

    def counted(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            if count[0] == step:
                raise Killed
            return original(*args, **kwargs)

        return wrapper

    for name in ("rename", "replace", "unlink"):
        monkeypatch.setattr(Path, name, counted(getattr(Path, name)))
    monkeypatch.setattr(shutil, "rmtree", counted(shutil.rmtree))
    return count


@pytest.mark.parametrize("step", range(1, 12))
def test_a_swap_killed_at_any_step_is_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    install_layer(stage(tmp_path, "framework-base", "v1"), tmp_path / "framework-base", INPUTS)
    staging = stage(tmp_path, "framework-base", "v2")
    with monkeypatch.context() as patch:
        count = kill_at(patch, step)
        try:
            install_layer(staging, tmp_path / "framework-base", NEW_INPUTS)
            killed = False
        except Killed:
            killed = True
    if not killed:
        assert count[0] < step
        return
    # Whatever the state, no stamp claims a folder that is not there.
    for claimed, version in ((INPUTS, "v1"), (NEW_INPUTS, "v2")):
        if is_up_to_date(tmp_path, "framework-base", claimed):
            assert built(tmp_path) == version
    recovery = recover_build_folder(tmp_path)
    content = built(tmp_path)
    assert content in {"v1", "v2"}  # the previous layer, or the new one: never none
    assert is_up_to_date(tmp_path, "framework-base", INPUTS if content == "v1" else NEW_INPUTS)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "framework-base",
        "framework-base.last-build.json",
    ]
    assert recovery
    assert recovery.render().startswith(f"recovered {tmp_path} after an interrupted run: ")
    assert not recover_build_folder(tmp_path)  # nothing left to do


def test_recovery_names_what_it_did(tmp_path: Path) -> None:
    install_layer(stage(tmp_path, "cpython-3.11", "v1"), tmp_path / "cpython-3.11", INPUTS)
    (tmp_path / "cpython-3.11").rename(tmp_path / ".cpython-3.11.old")
    stage(tmp_path, "cpython-3.11", "v2")
    install = tmp_path / "..cpython-3.11.staging-install-k2j4"
    install.mkdir()
    (install / "python").write_bytes(b"x" * 3000)
    (tmp_path / ".app-app.last-build.json.abcd1234.tmp").write_text("{")
    (tmp_path / ".venvstacks.lock").write_text("")  # not ours to remove
    recovery = recover_build_folder(tmp_path)
    assert recovery.render() == (
        f"recovered {tmp_path} after an interrupted run: restored cpython-3.11; "
        "removed 3 leftovers (3.0 kB)"
    )
    assert built(tmp_path, "cpython-3.11") == "v1"
    assert is_up_to_date(tmp_path, "cpython-3.11", INPUTS)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".venvstacks.lock",
        "cpython-3.11",
        "cpython-3.11.last-build.json",
    ]
