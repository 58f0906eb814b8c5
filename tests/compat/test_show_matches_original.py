"""Drop-in check: ``show`` prints exactly what the original venvstacks prints.

Installs venvstacks 0.7.0 (the newest release on PyPI) into a scratch venv, so
these tests need PyPI and are marked ``slow``.  Stacks using fields added in 0.8
(package indexes) are not compared, since 0.7.0 can't read them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
OURS = Path(sys.executable).with_name("venvstacks")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("venvstacks-0.7.0")
    venv.create(env, with_pip=True)
    subprocess.run(
        [
            env / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "venvstacks==0.7.0",
        ],
        check=True,
    )
    return env / "bin" / "venvstacks"


def show(tool: Path, *args: str) -> str:
    result = subprocess.run(
        [tool, "show", *args],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": ""},
    )
    return result.stdout


@pytest.mark.parametrize("spec", ["venvstacks.toml", "examples/diamond/venvstacks.toml"])
@pytest.mark.parametrize(
    "args",
    [[], ["--json"], ["--include", "framework-*"], ["--include", "app-*", "--json"]],
    ids=["tree", "json", "include-frameworks", "include-apps-json"],
)
def test_same_output_as_original(
    original: Path, spec: str, args: list[str], tmp_path: Path
) -> None:
    # A copy without the committed lock files: venvstacks 0.7.0 reads only its own
    # older lock format, so both tools must see an unlocked stack.
    source = (REPO / spec).parent
    copy = tmp_path / "stack"

    # Build output (`_build`, `_artifacts`) only at the top: `__main__.py` files must stay.
    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == source
        return {n for n in names if n in {"requirements", ".venv"} or (top and n.startswith("_"))}

    shutil.copytree(source, copy, ignore=ignore)
    path = str(copy / Path(spec).name)
    assert show(OURS, path, *args) == show(original, path, *args)
