from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conftest import Load
from venvstacks.lock.project import (
    IndexOptions,
    compute_project_name,
    compute_uv_table,
    render_resolve_project,
)


def test_project_name_is_sanitised() -> None:
    assert compute_project_name("framework-torch@cu128") == "framework-torch-cu128"
    assert compute_project_name("cpython-3.11") == "cpython-3.11"


def test_resolve_project(load: Load, tmp_path: Path) -> None:
    spec = load(
        """
        [[runtimes]]
        name = "cpython-3.11"
        python_implementation = "cpython@3.11.7"
        requirements = []

        [[frameworks]]
        name = "torch"
        runtime = "cpython-3.11"
        requirements = ["torch>=2", "numpy; sys_platform == 'linux'"]
        priority_indexes = ["cpu"]
        package_indexes = { torch = "cpu" }

        [tool.uv]
        exclude-newer = "2025-01-01T00:00:00Z"
        index = [
            { name = "cpu", url = "https://download.pytorch.org/whl/cpu", explicit = true },
            { name = "other", url = "https://example.invalid/simple" },
        ]
        """
    )
    framework = spec.graph.layers[1]
    text = render_resolve_project(
        framework,
        "3.11.7",
        spec.uv.settings,
        ["numpy==2.0.0"],
        IndexOptions(query_default_index=False, local_wheel_dirs=(tmp_path,)),
        spec_dir=spec.spec_dir,
    )
    assert tomllib.loads(text) == {
        "project": {
            "name": "framework-torch",
            "version": "0",
            "dependencies": ["torch>=2", 'numpy; sys_platform == "linux"'],
            "requires-python": "==3.11.*",
        },
        "tool": {
            "uv": {
                "exclude-newer": "2025-01-01T00:00:00Z",
                "index": [
                    {"name": "cpu", "url": "https://download.pytorch.org/whl/cpu"},
                    {"name": "other", "url": "https://example.invalid/simple"},
                ],
                "sources": {"torch": {"index": "cpu"}},
                "no-build": True,
                "cache-keys": [{"file": "pyproject.toml"}],
                "no-index": True,
                "find-links": [str(tmp_path)],
                "constraint-dependencies": ["numpy==2.0.0"],
            }
        },
    }


def test_inherited_package_indexes_reach_upper_layers(load: Load) -> None:
    spec = load(
        """
        [[runtimes]]
        name = "rt"
        python_implementation = "cpython@3.11.7"
        requirements = []

        [[frameworks]]
        name = "torch"
        runtime = "rt"
        requirements = ["torch"]
        package_indexes = { torch = "cpu" }

        [[applications]]
        name = "app"
        launch_module = "app.py"
        frameworks = ["torch"]
        requirements = ["torch"]

        [tool.uv]
        index = [{ name = "cpu", url = "https://download.pytorch.org/whl/cpu", explicit = true }]
        """,
        files={"app.py": ""},
    )
    app = spec.graph.layers[-1]
    table = compute_uv_table(app, spec.uv.settings, [], IndexOptions(), spec_dir=spec.spec_dir)
    assert table["sources"] == {"torch": {"index": "cpu"}}


def test_relative_find_links_are_relative_to_the_spec(load: Load) -> None:
    spec = load(
        """
        [[runtimes]]
        name = "rt"
        python_implementation = "cpython@3.11.7"
        requirements = []

        [tool.uv]
        find-links = ["wheels", "https://example.invalid/links"]
        """
    )
    table = compute_uv_table(
        spec.graph.layers[0], spec.uv.settings, [], IndexOptions(), spec_dir=spec.spec_dir
    )
    assert table["find-links"] == [
        str(spec.spec_dir.absolute() / "wheels"),
        "https://example.invalid/links",
    ]
