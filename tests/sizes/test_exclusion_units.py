"""``exclude_packages``: the spec field, the version input, the install pylock and the lock check."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Load, Problems
from venvstacks.builder.exclusions import render_install_pylock
from venvstacks.lock.constraints import LockedPin
from venvstacks.lock.exclusions import find_excluded_needs
from venvstacks.lock.versioning import compute_version_inputs_hash

BASE = """\
[[runtimes]]
name = "rt"
python_implementation = "cpython@3.11"
requirements = []

[[frameworks]]
name = "fw"
runtime = "rt"
requirements = ["tool"]
"""


def test_spec_field(load: Load) -> None:
    spec = load(BASE + 'exclude_packages = ["Heavy_Thing", "heavy.thing", "six"]\n')
    framework = next(layer for layer in spec.graph if layer.name == "fw")
    assert framework.exclude_packages == ("heavy-thing", "six")


def test_spec_field_problems(problems: Problems) -> None:
    assert problems(BASE + 'exclude_packages = ["ok", "not ok"]\n') == [
        (
            "SPEC: framework-fw: frameworks[0].exclude_packages[1]: 'not ok' is not a package "
            "name (letters, digits, '.', '-', '_')"
        )
    ]


def test_version_input_only_when_set() -> None:
    plain = compute_version_inputs_hash("app-x", True)
    assert compute_version_inputs_hash("app-x", True, exclude_packages=()) == plain
    one = compute_version_inputs_hash("app-x", True, exclude_packages=("six",))
    assert one != plain
    assert compute_version_inputs_hash("app-x", True, exclude_packages=("idna", "six")) not in (
        one, plain,
    )  # fmt: skip


PYLOCK = """\
lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "Heavy"
version = "1.0"
wheels = [{path = "../../wheels/heavy-1.0-py3-none-any.whl", hashes = {sha256 = "aa"}}]

[[packages]]
name = "tool"
version = "1.0"
wheels = [{path = "../../wheels/tool-1.0-py3-none-any.whl", hashes = {sha256 = "bb"}}]
"""


def test_install_pylock_leaves_excluded_out(tmp_path: Path) -> None:
    lock_dir = tmp_path / "requirements" / "app"
    assert render_install_pylock(PYLOCK, lock_dir, {"heavy"}) == (
        'lock-version = "1.0"\n'
        'created-by = "uv"\n'
        "\n"
        "[[packages]]\n"
        'name = "tool"\n'
        'version = "1.0"\n'
        f'wheels = [{{path = "{tmp_path.resolve().as_posix()}/wheels/tool-1.0-py3-none-any.whl", '
        'hashes = {sha256 = "bb"}}]\n'
    )


def test_lock_check_names_both_layers() -> None:
    upper = [LockedPin("six", "1.17.0", "", shared=True)]
    lower = [
        ("framework-a", (), [LockedPin("idna", "3", "", shared=False)]),
        ("framework-b", ("six",), [LockedPin("Six", "1.17.0", "", shared=False)]),
    ]
    assert find_excluded_needs("app-x", upper, lower) == [
        (
            "app-x: needs 'six', which framework-b excludes (exclude_packages); remove it from "
            "framework-b's exclude_packages or stop requiring it in app-x"
        )
    ]
    # The first layer on sys.path that installs it provides it.
    first = [("framework-a", (), [LockedPin("six", "1.17.0", "", shared=False)]), *lower]
    assert find_excluded_needs("app-x", upper, first) == []
