from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import Load
from venvstacks.errors import LockRunError
from venvstacks.lock.locker import LockInstruction, compute_lock_waves, lock_layers
from venvstacks.lock.project import IndexOptions
from venvstacks.spec.naming import BuildName
from venvstacks.tools._subprocess import Completed


def test_lock_waves_group_layers_that_do_not_depend_on_each_other(load: Load) -> None:
    spec = load(
        """
        [[runtimes]]
        name = "rt"
        python_implementation = "cpython@3.11"
        requirements = []

        [[frameworks]]
        name = "a"
        runtime = "rt"
        requirements = []

        [[frameworks]]
        name = "b"
        runtime = "rt"
        requirements = []

        [[frameworks]]
        name = "c"
        frameworks = ["a"]
        requirements = []

        [[applications]]
        name = "on-runtime"
        launch_module = "app.py"
        runtime = "rt"
        requirements = []

        [[applications]]
        name = "on-c"
        launch_module = "app.py"
        frameworks = ["c", "b"]
        requirements = []
        """,
        files={"app.py": ""},
    )
    waves = [[layer.build_name for layer in wave] for wave in compute_lock_waves(spec)]
    assert waves == [
        ["rt"],
        ["framework-a", "framework-b", "app-on-runtime"],
        ["framework-c"],
        ["app-on-c"],
    ]


def test_layers_above_a_failed_layer_are_not_attempted(load: Load, tmp_path: Path) -> None:
    """When uv fails for every layer: the runtime's error, then one line per selected layer above."""
    spec = load(
        """
        [[runtimes]]
        name = "rt"
        python_implementation = "cpython@3.11"
        requirements = ["nothing-like-this"]

        [[frameworks]]
        name = "a"
        runtime = "rt"
        requirements = []

        [[frameworks]]
        name = "b"
        frameworks = ["a"]
        requirements = []

        [[applications]]
        name = "app"
        launch_module = "app.py"
        frameworks = ["b"]
        requirements = []
        """,
        files={"app.py": ""},
    )
    calls: list[str] = []

    def uv(args: Sequence[str | Path], **_: object) -> Completed:
        calls.append(str(args[1]))
        return Completed(tuple(map(str, args)), 1, "", "error: no solution\n")

    selected = ["rt", "framework-a", "app-app"]  # framework-b is not selected
    with pytest.raises(LockRunError) as info:
        lock_layers(
            spec,
            {BuildName(name): LockInstruction() for name in selected},
            build_dir=tmp_path / "_build",
            index_options=IndexOptions(),
            python_for=lambda _layer: Path(sys.executable),
            runner=uv,
        )
    assert calls == ["lock"]  # only the runtime was attempted
    assert [str(error) for error in info.value.errors] == [
        "rt: uv could not resolve the layer's requirements:\n  error: no solution",
        "framework-a: not locked, because rt could not be locked",
        "app-app: not locked, because rt could not be locked",
    ]
    assert str(info.value) == "\n".join(str(error) for error in info.value.errors)
