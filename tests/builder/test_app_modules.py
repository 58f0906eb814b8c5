from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from venvstacks.builder.app_modules import copy_app_modules, copy_module


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _package(root: Path) -> Path:
    package = root / "helpers"
    (package / "__pycache__").mkdir(parents=True)
    (package / "sub" / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "util.py").write_text("X = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"stale")
    (package / "sub" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"stale")
    (package / "scratch.log").write_text("debug output\n")
    return package


def test_copy_a_file_module(tmp_path: Path) -> None:
    (tmp_path / "launch").mkdir()
    (tmp_path / "launch" / "app.py").write_text("print('v2')\n")
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "app.py").write_text("print('v1')\n")  # from an earlier build
    copy_module(tmp_path / "launch" / "app.py", site)
    assert (site / "app.py").read_text() == "print('v2')\n"


def test_copy_a_package_outside_git_leaves_out_pycache(tmp_path: Path) -> None:
    source = tmp_path / "src"
    package = _package(source)
    site = tmp_path / "site-packages"
    (site / "helpers").mkdir(parents=True)
    (site / "helpers" / "removed.py").write_text("")  # from an earlier build
    copy_module(package, site)
    assert _files(site) == [
        "helpers/__init__.py",
        "helpers/scratch.log",
        "helpers/sub/__init__.py",
        "helpers/util.py",
    ]


GIT = shutil.which("git")


@pytest.mark.skipif(GIT is None, reason="needs git")
def test_copy_a_package_in_a_git_work_tree_leaves_out_ignored_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run([str(GIT), "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("*.log\n")  # no rule for __pycache__
    package = _package(repo)
    (package / ".gitattributes").write_text("* text=auto\n")
    (repo / "launch.py").write_text("import helpers\n")
    site = tmp_path / "site-packages"
    site.mkdir()
    copy_app_modules(repo, [PurePosixPath("launch.py"), PurePosixPath("helpers")], site)
    assert _files(site) == [
        "helpers/__init__.py",
        "helpers/sub/__init__.py",
        "helpers/util.py",
        "launch.py",
    ]
