"""Every option of venvstacks 0.8 is accepted by ours, with the same kind, default and value.

The options are listed below as data, taken from the reference's "Invocation and
global options" (§1.1) and "Subcommand x option matrix" (§1.3) tables, which were
read off venvstacks 0.8.0's ``--help``.  Each one is parsed by the real command
line (the click commands Typer builds for ``venvstacks``), so a renamed option, a
flag that lost its ``--no-`` form or a changed default fails here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.exceptions import TyperException
from typer.main import get_command

from venvstacks.cli import app


@dataclass(frozen=True)
class Flag:
    """A ``--name/--no-name`` pair; ``default`` None means unset (a tristate)."""

    default: bool | None


@dataclass(frozen=True)
class Value:
    """An option taking one value, with its default."""

    default: str


@dataclass(frozen=True)
class Multi:
    """A repeatable option, one value per occurrence, empty by default."""


# Reference §1.3: the options every command shares (SPEC_PATH aside).
_COMMON: dict[str, Any] = {
    "--build-dir": Value("_build"),
    "--include": Multi(),
    "--allow-missing": Flag(False),
    "--json": Flag(False),
}
_SHOW = {"--show": Flag(False), "--show-only": Flag(False)}
_LOCKING = {
    "--index": Flag(True),
    "--local-wheels": Multi(),
    "--reset-lock": Multi(),
    "--lock-dependencies": Flag(False),
}
OPTIONS_08: dict[str, dict[str, Any]] = {
    "show": _COMMON,
    "lock": {**_COMMON, **_SHOW, **_LOCKING, "--clean": Flag(False), "--if-needed": Flag(False)},
    "build": {
        **_COMMON,
        **_SHOW,
        **_LOCKING,
        "--output-dir": Value("_artifacts"),
        "--clean": Flag(False),
        "--lock-if-needed": Flag(False),
        "--lock": Flag(False),  # deprecated alias of --lock-if-needed
        "--build": Flag(True),
        "--publish": Flag(False),
        "--tag-outputs": Flag(False),
        "--build-dependencies": Flag(False),
        "--publish-dependencies": Flag(False),
        "--include-dependencies": Flag(None),
        "--build-derived": Flag(False),
        "--publish-derived": Flag(False),
    },
    "publish": {
        **_COMMON,
        **_SHOW,
        "--output-dir": Value("_artifacts"),
        "--tag-outputs": Flag(False),
        "--force": Flag(False),
        "--dry-run": Flag(False),
        "--publish-dependencies": Flag(False),
        "--publish-derived": Flag(False),
    },
    "local-export": {
        **_COMMON,
        **_SHOW,
        "--output-dir": Value("_export"),
        "--force": Flag(False),
        "--dry-run": Flag(False),
        "--publish-dependencies": Flag(False),
        "--publish-derived": Flag(False),
    },
}
# Reference §1.3: options 0.8 rejects by design (with their --no- forms).
REJECTED_08 = {
    "lock": ("--lock", "--build", "--publish", "--tag-outputs"),
    "publish": ("--lock", "--build", "--publish", "--clean"),
    "local-export": ("--lock", "--build", "--publish", "--clean", "--tag-outputs"),
}

_COMMAND = get_command(app)
assert isinstance(_COMMAND, TyperGroup)
GROUP: TyperGroup = _COMMAND


def find_option(command: Any, name: str) -> TyperOption:
    for param in command.params:
        if isinstance(param, TyperOption) and name in param.opts:
            return param
    raise AssertionError(f"{command.name}: no option {name}")


def parse(command: str, *args: str) -> dict[str, Any]:
    """Parse a command line with the real command, without running it."""
    with GROUP.commands[command].make_context(command, ["venvstacks.toml", *args]) as ctx:
        return dict(ctx.params)


def as_text(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return None if value is None else str(value)


CASES = [
    (command, name, kind) for command, opts in OPTIONS_08.items() for name, kind in opts.items()
]


@pytest.mark.parametrize(("command", "name", "kind"), CASES, ids=[f"{c} {n}" for c, n, _ in CASES])
def test_option_of_08_has_the_same_kind_and_default(command: str, name: str, kind: Any) -> None:
    option = find_option(GROUP.commands[command], name)
    key = option.name
    assert key is not None
    if isinstance(kind, Flag):
        assert option.is_flag
        assert not option.count
        assert option.secondary_opts == [f"--no-{name[2:]}"]
        assert parse(command)[key] is kind.default
        assert parse(command, name)[key] is True
        assert parse(command, f"--no-{name[2:]}")[key] is False
    elif isinstance(kind, Value):
        assert not option.is_flag
        assert not option.multiple
        assert as_text(parse(command)[key]) == kind.default
        assert as_text(parse(command, name, "elsewhere")[key]) == "elsewhere"
    else:
        assert option.multiple
        assert not parse(command)[key]
        assert as_text(parse(command, name, "a", name, "b")[key]) == ["a", "b"]


@pytest.mark.parametrize("command", sorted(REJECTED_08))
def test_options_08_rejects_are_rejected(command: str) -> None:
    for name in REJECTED_08[command]:
        for form in (name, f"--no-{name[2:]}"):
            with pytest.raises(TyperException, match="No such option"):
                parse(command, form)


def test_spec_path_is_the_one_argument() -> None:
    for command in OPTIONS_08:
        arguments = [p for p in GROUP.commands[command].params if isinstance(p, TyperArgument)]
        assert [(a.nargs, a.multiple) for a in arguments] == [(1, False)], command
        with pytest.raises(TyperException, match="unexpected extra argument"):
            parse(command, "second.toml")


def test_global_options_of_08() -> None:
    """Reference §1.1: ``--version``/``-V``, counted ``-v``, ``--quiet``/``-q``, ``--help``."""
    version = find_option(GROUP, "--version")
    assert (version.opts, version.secondary_opts, version.is_eager) == (
        ["--version", "-V"],
        [],
        True,
    )
    verbose = find_option(GROUP, "--verbose")
    assert (verbose.opts, verbose.count, verbose.default) == (["--verbose", "-v"], True, 0)
    quiet = find_option(GROUP, "--quiet")
    assert (quiet.opts, quiet.is_flag, quiet.default) == (["--quiet", "-q"], True, False)
    assert "--help" in GROUP.get_help_option_names(GROUP.make_context("venvstacks", ["show"]))
    with GROUP.make_context("venvstacks", ["-vv", "-q", "show"]) as ctx:
        assert (ctx.params["verbose"], ctx.params["quiet"]) == (2, True)


def test_build_lock_alias_behaves_as_in_08() -> None:
    """``--lock`` is ``--lock-if-needed``; ``--no-lock`` does not cancel it (0.8: no warning)."""
    assert parse("build", "--lock")["lock"] is True
    assert parse("build", "--lock-if-needed", "--no-lock")["lock_if_needed"] is True


def test_every_option_is_documented() -> None:
    """docs/cli/<command>.md names every option of the command."""
    docs = Path(__file__).parents[2] / "docs" / "cli"
    pages = {"local-export": "publish.md"}
    for command, cmd in GROUP.commands.items():
        if isinstance(cmd, TyperGroup):
            continue
        page = docs / pages.get(command, f"{command}.md")
        if not page.exists():
            continue
        text = page.read_text(encoding="utf-8")
        section = (
            text[text.index("## `venvstacks local-export`") :]
            if command == "local-export"
            else text
        )
        for param in cmd.params:
            if isinstance(param, TyperOption):
                for name in [*param.opts, *param.secondary_opts]:
                    assert f"`{name}" in section, f"{page.name} does not document {command} {name}"
