"""Launch and support modules checked as files: kind, ``__main__.py``, Python syntax per runtime."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from venvstacks.errors import SpecError
from venvstacks.spec.load import load_stack_spec
from venvstacks.spec.modules import check_python_source, compute_python_minor

from ..conftest import Load, Problems, WriteSpec


def stack(launch: str = "app.py", support: str = "", python: str = "cpython@3.11.7") -> str:
    return f"""
    [[runtimes]]
    name = "rt"
    python_implementation = "{python}"
    requirements = []

    [[applications]]
    name = "app"
    runtime = "rt"
    requirements = []
    launch_module = "{launch}"
    support_modules = [{support}]
    """


def test_valid_files_and_packages_load(load: Load) -> None:
    spec = load(
        stack("cli", '"helpers", "extra.py"'),
        {
            "cli/__main__.py": "from cli.core import main\nmain()\n",
            "cli/core.py": "def main() -> None:\n    match 1:\n        case _: pass\n",
            "cli/__pycache__/bad.py": "not python (",  # never copied into a layer
            "cli/data.txt": "not python (",  # only .py files are parsed
            "helpers/__init__.py": "",
            "helpers/sub/deep.py": "X = 1\n",
            "extra.py": "# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n",
        },
    )
    assert spec.warnings == ()


def test_package_launch_module_needs_main(problems: Problems) -> None:
    assert problems(stack("cli"), {"cli/__init__.py": ""}) == [
        (
            "SPEC: app-app: applications[0].launch_module: launch module 'cli' is a package folder "
            "without __main__.py, so 'python -m cli' can't run it; add cli/__main__.py"
        )
    ]


def test_support_packages_need_no_main(load: Load) -> None:
    load(stack(support='"helpers"'), {"app.py": "", "helpers/__init__.py": ""})


def test_every_module_problem_is_reported(problems: Problems) -> None:
    files = {
        "app.py": "def main(:\n    pass\n",
        "helpers/__init__.py": "",
        "helpers/io.py": "x = 1\nreturn x\n",
        "tool.py": "print 'hi'\n",
    }
    assert problems(stack(support='"helpers", "tool.py"'), files) == [
        (
            "SPEC: app-app: applications[0].launch_module: launch module 'app.py' doesn't parse as "
            "Python 3.11 source (app.py, line 1, column 10: invalid syntax); fix it (the layer runs "
            "on cpython@3.11.7)"
        ),
        (
            "SPEC: app-app: applications[0].support_modules[0]: support module 'helpers' doesn't parse "
            "as Python 3.11 source (helpers/io.py, line 2, column 1: 'return' outside function); fix "
            "it (the layer runs on cpython@3.11.7)"
        ),
        (
            "SPEC: app-app: applications[0].support_modules[1]: support module 'tool.py' doesn't parse "
            "as Python 3.11 source (tool.py, line 1, column 1: Missing parentheses in call to 'print'. "
            "Did you mean print(...)?); fix it (the layer runs on cpython@3.11.7)"
        ),
    ]


def test_syntax_is_checked_for_the_runtime_version(problems: Problems, load: Load) -> None:
    files = {"app.py": "match command:\n    case 'go':\n        pass\n"}
    assert problems(stack(python="pypy@3.9"), files) == [
        (
            "SPEC: app-app: applications[0].launch_module: launch module 'app.py' doesn't parse as "
            "Python 3.9 source (app.py, line 3, column 13: Pattern matching is only supported in "
            "Python 3.10 and greater); fix it (the layer runs on pypy@3.9)"
        )
    ]
    load(stack(python="cpython@3.10"), files)


def test_newer_runtime_syntax_is_a_warning(load: Load) -> None:
    newer = sys.version_info.minor + 1
    spec = load(stack(python=f"cpython@3.{newer}"), {"app.py": "x = (\n"})
    assert [w.render().split(": ", 1)[1] for w in spec.warnings] == [
        (
            f"app-app: applications[0].launch_module: launch module 'app.py' doesn't parse as Python "
            f"3.{newer} source (app.py, line 1, column 5: '(' was never closed); venvstacks runs on "
            f"Python 3.{sys.version_info.minor} and can't check newer syntax: check it with the "
            f"layer's runtime (cpython@3.{newer})"
        )
    ]


def test_modules_of_a_layer_with_invalid_dependencies_are_not_parsed(problems: Problems) -> None:
    spec = stack().replace('runtime = "rt"', 'runtime = "missing"')
    assert problems(spec, {"app.py": "x = (\n"}) == [
        "SPEC: app-app: applications[0].runtime: unknown runtime 'missing'; defined runtimes are 'rt'"
    ]


def test_null_bytes_and_bad_encodings(write_spec: WriteSpec) -> None:
    path = write_spec(stack(support='"b.py"'))
    (path.parent / "app.py").write_bytes(b"x = 1\x00\n")
    (path.parent / "b.py").write_bytes(b"x = '\xff'\n")
    with pytest.raises(SpecError) as caught:
        load_stack_spec(path)
    assert [p.message for p in caught.value.problems] == [
        (
            "launch module 'app.py' doesn't parse as Python 3.11 source (app.py: source code string "
            "cannot contain null bytes); fix it (the layer runs on cpython@3.11.7)"
        ),
        (
            "support module 'b.py' doesn't parse as Python 3.11 source (b.py, line 1, column 8: "
            "(unicode error) 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte); "
            "fix it (the layer runs on cpython@3.11.7)"
        ),
    ]


@pytest.mark.parametrize(
    ("implementation", "minor"),
    [("cpython@3.11.7", 11), ("cpython@3.12", 12), ("pypy@3.10", 10), ("cpython@2.7", None)],
)
def test_compute_python_minor(implementation: str, minor: int | None) -> None:
    assert compute_python_minor(implementation) == minor


def test_check_python_source() -> None:
    assert check_python_source(b"async def f():\n    await g()\n", "m.py", 11) is None
    assert check_python_source(b"await g()\n", "m.py", 11) == (
        "m.py, line 1, column 1: 'await' outside function"
    )


def test_git_ignored_files_are_not_parsed(load: Load, tmp_path: Path) -> None:
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    load(
        stack("cli"),
        {".gitignore": "scratch.py\n", "cli/__main__.py": "", "cli/scratch.py": "x = (\n"},
    )
