"""What ``publish`` and ``local-export`` would do, from the locks alone: --show, --json, --dry-run.

Runs the real command line on the quickstart stack, whose locks are committed and
which is never built here (the build and output folders are empty temp folders).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from venvstacks.builder.stack import compute_host_platform
from venvstacks.cli import app

REPO = Path(__file__).parents[2]
SPEC = REPO / "venvstacks.toml"
PLATFORM = compute_host_platform().value
Golden = Callable[[str, str], None]
# The first line of a dry run, as in venvstacks 0.8.
HEADINGS = {
    "publish": "Archive creation skipped, reporting publishing request details:",
    "local-export": "Environment export skipped, reporting local export request details:",
}


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., tuple[int, str, str]]:
    """Run a command on the quickstart stack with empty build and output folders."""

    def invoke(command: str, *args: str) -> tuple[int, str, str]:
        folders = ["--build-dir", str(tmp_path / "build"), "--output-dir", str(tmp_path / "out")]
        if command == "build":
            folders = folders[:2]
        result = CliRunner().invoke(app, [command, str(SPEC), *folders, *args])
        assert not (tmp_path / "out").exists()
        assert not (tmp_path / "build").exists()
        text = result.stdout.replace(str(tmp_path), "<tmp>").replace(PLATFORM, "<platform>")
        return result.exit_code, text.replace(str(REPO), "<repo>"), result.stderr

    return invoke


def test_publish_dry_run_without_a_build(
    run: Callable[..., tuple[int, str, str]], golden: Golden
) -> None:
    code, out, err = run("publish", "--dry-run", "--tag-outputs", "--format", "tar.gz")
    assert (code, err) == (0, "")
    golden("publish/dry-run-quickstart.txt", out)
    request = json.loads("\n".join(out.splitlines()[1:-1]))
    names = [
        m["archive_name"]
        for kind in ("runtimes", "frameworks", "applications")
        for m in request["layers"][kind]
    ]
    assert names == [
        "cpython-3.11-<platform>-1.tar.gz",
        "framework-scipy-<platform>-1.tar.gz",
        "framework-http-client-<platform>-1.tar.gz",
        "app-scipy-import-<platform>-1.tar.gz",
        "app-scipy-client-<platform>-1.tar.gz",
    ]


def test_dry_run_json_show_prints_only_the_request(
    run: Callable[..., tuple[int, str, str]],
) -> None:
    code, out, _ = run("publish", "--dry-run", "--json", "--show", "--include", "cpython-*")
    assert code == 0
    (runtime,) = json.loads(out)["layers"]["runtimes"]
    assert runtime["archive_name"] == "cpython-3.11.tar.xz"
    assert not {"archive_size", "archive_hashes", "build_tools", "layer_inputs_hash"} & set(runtime)


def test_real_publish_still_needs_the_build(run: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = run("publish", "--include", "cpython-*")
    assert (code, out) == (1, "")
    assert (
        err
        == "error: cpython-3.11: not built yet; run 'venvstacks build --include cpython-3.11' first\n"
    )


def test_local_export_dry_run_without_a_build(run: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = run("local-export", "--dry-run", "--include", "app-scipy-import")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Environment export skipped, reporting local export request details:"
    assert lines[-1] == "Target folder: <tmp>/out"
    (app_layer,) = json.loads("\n".join(lines[1:-1]))["layers"]["applications"]
    assert app_layer["required_layers"] == ["framework-scipy"]
    assert "archive_name" not in app_layer


@pytest.mark.parametrize("command", ["publish", "local-export"])
def test_show_only(command: str, run: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = run(
        command, "--show-only", "--include", "app-scipy-import", "--publish-dependencies"
    )
    assert (code, err) == (0, "")
    assert out == (
        "<repo>/venvstacks.toml\n"
        "├── Runtimes\n"
        "│   └── cpython-3.11 (publish)\n"
        "├── Frameworks\n"
        "│   └── framework-scipy (publish)\n"
        "└── Applications\n"
        "    └── app-scipy-import (publish)\n"
    )
    # Without --publish-dependencies, the layers below are listed without an operation.
    code, out, _ = run(command, "--json", "--include", "app-scipy-import")
    operations = {
        layer["name"]: layer["selected_operations"]
        for kind in ("runtimes", "frameworks", "applications")
        for layer in json.loads(out)[kind]
    }
    assert operations == {
        "cpython-3.11": [],
        "framework-scipy": [],
        "app-scipy-import": ["publish"],
    }


@pytest.mark.parametrize("command", ["publish", "local-export"])
def test_show_then_dry_run(command: str, run: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _ = run(command, "--show", "--dry-run", "--include", "cpython-*")
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == ["<repo>/venvstacks.toml", "└── Runtimes", "    └── cpython-3.11 (publish)"]
    assert lines[3] == HEADINGS[command]


def test_build_lock_alias(run: Callable[..., tuple[int, str, str]]) -> None:
    def operations(*args: str) -> str:
        code, out, _ = run("build", "--show-only", "--include", "cpython-3.11", *args)
        assert code == 0
        return out.splitlines()[-1].strip()

    assert operations() == "└── cpython-3.11 (build)"
    assert operations("--lock") == "└── cpython-3.11 (lock-if-needed, build)"
    assert operations("--no-lock") == "└── cpython-3.11 (build)"
    # As in 0.8, --no-lock does not cancel --lock-if-needed.
    assert operations("--lock-if-needed", "--no-lock") == "└── cpython-3.11 (lock-if-needed, build)"


def test_include_dependencies_overrides_the_dependency_options(
    run: Callable[..., tuple[int, str, str]],
) -> None:
    def operations(*args: str) -> list[str]:
        code, out, _ = run(
            "build", "--show-only", "--lock-if-needed", "--include", "app-scipy-import", *args
        )
        assert code == 0
        return [line.strip("│├└─ ") for line in out.splitlines() if "(" in line]

    included = "app-scipy-import (lock-if-needed, build)"
    assert operations() == [
        "cpython-3.11 (lock-if-needed, build-if-needed)",
        "framework-scipy (lock-if-needed, build-if-needed)",
        included,
    ]
    assert operations("--include-dependencies") == [
        "cpython-3.11 (lock, build)", "framework-scipy (lock, build)", included,
    ]  # fmt: skip
    assert operations(
        "--no-include-dependencies", "--lock-dependencies", "--build-dependencies"
    ) == (operations())


def test_build_show_lists_what_publish_publishes(run: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _ = run("build", "--show-only", "--publish", "--include", "app-scipy-import")
    assert code == 0
    assert out.splitlines()[1:] == [
        "├── Runtimes",
        "│   └── cpython-3.11 (build-if-needed)",
        "├── Frameworks",
        "│   └── framework-scipy (build-if-needed)",
        "└── Applications",
        "    └── app-scipy-import (build, publish)",
    ]
    code, out, _ = run(
        "build", "--json", "--publish", "--include-dependencies", "--include", "app-scipy-import"
    )
    assert [layer["selected_operations"] for layer in json.loads(out)["runtimes"]] == [
        ["build", "publish"]
    ]


@pytest.mark.parametrize("command", ["publish", "local-export"])
def test_unmatched_pattern_is_a_warning_with_allow_missing(
    command: str, run: Callable[..., tuple[int, str, str]]
) -> None:
    code, _, err = run(
        command, "--dry-run", "--include", "cpython-*", "--include", "nope", "--allow-missing"
    )
    assert (code, err) == (0, "warning: no layers match 'nope'\n")
    code, _, err = run(command, "--dry-run", "--include", "nope")
    assert code == 1
    assert err.startswith("error: no layers match 'nope' (layers are: cpython-3.11, ")
