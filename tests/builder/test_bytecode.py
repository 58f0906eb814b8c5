from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from venvstacks.builder.bytecode import compile_layer
from venvstacks.tools._subprocess import Completed


class FakeRunner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(
        self,
        args: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,  # noqa: ARG002 - the Runner signature
        cwd: Path | None = None,  # noqa: ARG002
        check: bool = True,  # noqa: ARG002
        failure: str = "",  # noqa: ARG002
    ) -> Completed:
        self.calls.append(tuple(str(arg) for arg in args))
        return Completed(tuple(str(arg) for arg in args), 0, "", "")


def test_compiles_existing_targets_with_unchecked_hash_and_the_build_name(tmp_path: Path) -> None:
    staging = tmp_path / ".framework-x.staging"
    site = staging / "lib/python3.11/site-packages"
    site.mkdir(parents=True)
    runner = FakeRunner()
    python = staging / "bin/python"
    compile_layer(python, staging, [site, staging / "missing"], prefix="framework-x", runner=runner)
    assert runner.calls == [
        (
            str(python), "-I", "-B", "-W", "ignore", "-m", "compileall", "-q", "-q", "-j", "0",
            "--invalidation-mode", "unchecked-hash",
            "-s", str(staging), "-p", "framework-x",
            str(site),
        )
    ]  # fmt: skip


def test_prefix_defaults_to_the_folder_name(tmp_path: Path) -> None:
    (tmp_path / "cpython-3.11/lib").mkdir(parents=True)
    runner = FakeRunner()
    compile_layer(
        tmp_path / "python",
        tmp_path / "cpython-3.11",
        [tmp_path / "cpython-3.11/lib"],
        runner=runner,
    )
    args = runner.calls[0]
    assert args[args.index("-p") + 1] == "cpython-3.11"


def test_nothing_to_compile_runs_nothing(tmp_path: Path) -> None:
    runner = FakeRunner()
    compile_layer(tmp_path / "python", tmp_path, [tmp_path / "missing"], runner=runner)
    assert runner.calls == []
