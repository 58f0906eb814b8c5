from __future__ import annotations

from tests.conftest import Load
from venvstacks.lock.locker import compute_lock_waves


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
