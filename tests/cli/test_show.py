"""``venvstacks show`` driven through the real command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from venvstacks import __version__
from venvstacks.cli import app

from ..conftest import WriteSpec

REPO = Path(__file__).parents[2]
Golden = Callable[[str, str], None]


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def relative(text: str, base: Path) -> str:
    """Replace the absolute location of a spec with a stable placeholder."""
    return text.replace(str(base), "<project>")


@pytest.mark.parametrize(
    ("spec", "args", "golden_name"),
    [
        ("venvstacks.toml", [], "show-quickstart.txt"),
        ("venvstacks.toml", ["--json"], "show-quickstart.json"),
        ("examples/diamond/venvstacks.toml", [], "show-diamond.txt"),
        ("examples/diamond/venvstacks.toml", ["--json"], "show-diamond.json"),
        (
            "examples/diamond/venvstacks.toml",
            ["--include", "framework-B"],
            "show-diamond-include-B.txt",
        ),
        (
            "examples/diamond/venvstacks.toml",
            ["--include", "app-*", "--include", "cpython-3.12", "--json"],
            "show-diamond-include-apps.json",
        ),
        ("examples/pytorch-variants/venvstacks.toml", [], "show-pytorch-variants.txt"),
    ],
)
def test_show_output(spec: str, args: list[str], golden_name: str, golden: Golden) -> None:
    code, out, err = run("show", REPO / spec, *args)
    assert (code, err) == (0, "")
    golden(golden_name, relative(out, REPO))


def test_json_shape() -> None:
    code, out, _ = run("show", REPO / "venvstacks.toml", "--json")
    assert code == 0
    data = json.loads(out)
    assert sorted(data) == ["applications", "frameworks", "runtimes", "spec_name"]
    assert data["spec_name"] == str(REPO / "venvstacks.toml")
    (runtime,) = data["runtimes"]
    assert runtime == {
        "name": "cpython-3.11",
        "install_target": "cpython-3.11",
        "has_valid_lock": True,  # its lock files are committed under requirements/
        "selected_operations": None,
    }
    app_entry = data["applications"][1]
    assert [dep["name"] for dep in app_entry["dependencies"]] == [
        "framework-scipy",
        "framework-http-client",
        "cpython-3.11",
    ]


def test_spec_defaults_to_venvstacks_toml_in_the_current_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    assert run("show") == run("show", REPO / "venvstacks.toml")


def test_spec_folder_is_accepted() -> None:
    assert run("show", REPO / "examples/diamond") == run(
        "show", REPO / "examples/diamond/venvstacks.toml"
    )


def test_bad_spec_exits_1_with_one_line_per_problem(write_spec: WriteSpec) -> None:
    path = write_spec(
        """
        [[runtimes]]
        name = "rt"
        python_implementation = "cpython@3.11"
        requirements = ["numpy", 3]
        platfroms = ["linux_x86_64"]
        """
    )
    code, out, err = run("show", path)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {path}: rt: runtimes[0].requirements[1]: expected a string, got integer 3",
        f"error: {path}: rt: runtimes[0].platfroms: unknown key 'platfroms' (did you mean 'platforms'?)",
    ]


@pytest.mark.parametrize(
    "command", [["show"], ["lock", "--show-only"], ["build", "--show-only"], ["publish"]]
)
def test_broken_launch_modules_stop_every_command(
    write_spec: WriteSpec, command: list[str]
) -> None:
    path = write_spec(
        """
        [[runtimes]]
        name = "rt"
        python_implementation = "cpython@3.11"
        requirements = []

        [[applications]]
        name = "cli"
        runtime = "rt"
        requirements = []
        launch_module = "cli"

        [[applications]]
        name = "chat"
        runtime = "rt"
        requirements = []
        launch_module = "chat.py"
        """,
        {"cli/__init__.py": "", "chat.py": "def main(\n"},
    )
    code, out, err = run(*command, path)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        (
            f"error: {path}: app-cli: applications[0].launch_module: launch module 'cli' is a "
            "package folder without __main__.py, so 'python -m cli' can't run it; add cli/__main__.py"
        ),
        (
            f"error: {path}: app-chat: applications[1].launch_module: launch module 'chat.py' doesn't "
            "parse as Python 3.11 source (chat.py, line 1, column 9: '(' was never closed); fix it "
            "(the layer runs on cpython@3.11)"
        ),
    ]


def test_missing_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("show") == (
        1,
        "",
        "error: venvstacks.toml: file not found; pass the path of a stack specification (venvstacks.toml)\n",
    )


def test_unmatched_include() -> None:
    code, out, err = run("show", REPO / "venvstacks.toml", "--include", "app-nope")
    assert (code, out) == (1, "")
    assert err == (
        "error: no layers match 'app-nope' (layers are: cpython-3.11, framework-scipy, "
        "framework-http-client, app-scipy-import, app-scipy-client); pass --allow-missing to skip "
        "patterns that match nothing\n"
    )


def test_allow_missing_warns() -> None:
    code, out, err = run(
        "show",
        REPO / "venvstacks.toml",
        "--include",
        "app-nope",
        "--include",
        "cpython-*",
        "--allow-missing",
    )
    assert code == 0
    assert err == "warning: no layers match 'app-nope'\n"
    assert "app-scipy-import" in out
    # -q silences warnings
    assert (
        run("-q", "show", REPO / "venvstacks.toml", "--include", "app-nope", "--allow-missing")[2]
        == ""
    )


def test_warnings_go_to_stderr(write_spec: WriteSpec) -> None:
    path = write_spec(
        """
        [[runtimes]]
        name = "rt"
        python_implementation = "cpython@3.11"
        requirements = []
        build_requirements = []
        """
    )
    code, out, err = run("show", path)
    assert code == 0
    assert out.splitlines()[1:] == ["└── Runtimes", "    └── *rt"]
    assert (
        err
        == f"warning: {path}: rt: runtimes[0].build_requirements: obsolete and ignored; remove it\n"
    )


def test_verbose_reports_what_was_selected() -> None:
    code, _, err = run("-v", "show", REPO / "venvstacks.toml", "--include", "framework-http-client")
    assert code == 0
    # -v also lists the commands run on the way (git check-ignore for module hashes).
    lines = [line for line in err.splitlines() if not line.startswith("$ ")]
    assert lines == [f"{REPO / 'venvstacks.toml'}: 5 layers, 3 selected"]


def test_build_dir_is_accepted_for_compatibility() -> None:
    assert run("show", REPO / "venvstacks.toml", "--build-dir", "elsewhere") == run(
        "show", REPO / "venvstacks.toml"
    )


@pytest.mark.parametrize("args", [["--version"], ["-V"], ["--version", "show"]])
def test_version(args: list[str]) -> None:
    assert run(*args) == (0, f"venvstacks: {__version__}\n", "")


def test_no_arguments_shows_help_and_exits_2() -> None:
    code, out, err = run()
    assert (code, out) == (2, "")
    assert err.startswith("Usage: venvstacks [OPTIONS] COMMAND [ARGS]...")
    assert re.search(r"^  show +Show the layers of a stack", err, re.MULTILINE)
    assert re.search(r"^  python +Base runtimes", err, re.MULTILINE)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "--frobnicate"], "No such option: --frobnicate"),
        (["show", "--include"], "Option '--include' requires an argument."),
        (["explode"], "No such command 'explode'."),
    ],
)
def test_bad_command_lines_exit_2(args: list[str], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "text",
    [
        "runtimes = 3",
        "runtimes = [1]",
        "tool = 3",
        "[tool]\nuv = 3",
        "[[runtimes]]\nname = 3\nrequirements = []\npython_implementation = 'cpython@3.11'",
        "[[frameworks]]\nname = 'f'\nframeworks = 'a'\nrequirements = []",
        "[[frameworks]]\nname = 'f'\nruntime = ['a']\nrequirements = []",
        (
            "[[runtimes]]\nname = 'r'\nrequirements = []\npython_implementation = 'cpython@3.11'\n"
            "platforms = 'linux_x86_64'"
        ),
        (
            "[[runtimes]]\nname = 'r'\nrequirements = []\npython_implementation = 'cpython@3.11'\n"
            "package_indexes = {a = 1}"
        ),
        "[tool.uv]\nindex = [{}]\nsources = 3",
        "[tool.uv]\nindex = 'x'",
        "[[applications]]\nname = 'a'\nruntime = 'r'\nrequirements = []\nlaunch_module = ['x']",
        "[[applications]]\nname = 'a'\nruntime = 'r'\nrequirements = []\nlaunch_module = ''",
        "\x00",
        "a = 1\na = 2",
    ],
)
def test_malformed_specs_never_crash(write_spec: WriteSpec, text: str) -> None:
    code, out, err = run("show", write_spec(text))
    assert (code, out) == (1, "")
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    script = Path(sys.executable).with_name("venvstacks")
    for command in ([str(script)], [sys.executable, "-m", "venvstacks"]):
        result = subprocess.run(
            [*command, "show", "--json", str(REPO / "venvstacks.toml")],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["runtimes"][0]["name"] == "cpython-3.11"
