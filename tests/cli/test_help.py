"""The ``--help`` texts: usage lines with plain argument names, and wording per command."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from venvstacks.cli import app


def help_text(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    return result.stdout


def flat(text: str) -> str:
    """Undo the line wrapping of *text*."""
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("show", "Usage: venvstacks show [OPTIONS] [SPEC_PATH]"),
        ("lock", "Usage: venvstacks lock [OPTIONS] [SPEC_PATH]"),
        ("build", "Usage: venvstacks build [OPTIONS] [SPEC_PATH]"),
        ("publish", "Usage: venvstacks publish [OPTIONS] [SPEC_PATH]"),
        ("local-export", "Usage: venvstacks local-export [OPTIONS] [SPEC_PATH]"),
        ("deploy", "Usage: venvstacks deploy [OPTIONS] ARTIFACT_DIR"),
    ],
)
def test_usage_lines_name_arguments_plainly(command: str, usage: str) -> None:
    text = help_text(command)
    assert text.splitlines()[0] == usage
    argument = usage.rsplit(maxsplit=1)[-1].strip("[]")
    assert f"\n  {argument} <path>  " in text


def test_missing_artifact_dir_is_named_like_the_usage_line() -> None:
    result = CliRunner().invoke(app, ["deploy", "--target", "x"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "Usage: venvstacks deploy [OPTIONS] ARTIFACT_DIR"
    assert "Error: Missing argument 'ARTIFACT_DIR'." in result.stderr


def test_local_export_speaks_of_exporting() -> None:
    text = flat(help_text("local-export"))
    assert "--include PATTERN Only export layers whose build name matches" in text
    assert (
        "--publish-dependencies / --no-publish-dependencies With --include, also export the layers the included ones run on."
        in text
    )
    assert (
        "--publish-derived / --no-publish-derived With --include, also export the layers that run on the included ones."
        in text
    )
    assert "Only publish" not in text
    assert "also publish" not in text


@pytest.mark.parametrize("command", ["publish", "local-export"])
def test_json_help_names_what_is_printed(command: str) -> None:
    text = flat(help_text(command))
    assert (
        "--json / --no-json Print the selected layers as JSON (implies --show-only unless "
        "--show is given; with --show, then the stack manifest of the run as JSON)." in text
    )


def test_build_include_help_matches_what_build_selects() -> None:
    text = flat(help_text("build"))
    assert (
        "--include PATTERN Only build layers whose build name matches this fnmatch pattern "
        "(repeatable), and the layers they run on; see --build-derived for the layers that run "
        "on them."
    ) in text
