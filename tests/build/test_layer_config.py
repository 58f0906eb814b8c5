from __future__ import annotations

from venvstacks.build.layer_config import compute_runtime_config


def test_posix_runtime_config() -> None:
    assert compute_runtime_config("3.12.1", "linux") == {
        "python": "bin/python",
        "py_version": "3.12.1",
        "base_python": "bin/python",
        "site_dir": "lib/python3.12/site-packages",
        "pylib_dirs": [],
        "dynlib_dirs": [],
    }


def test_windows_runtime_config_uses_the_root_interpreter() -> None:
    config = compute_runtime_config("3.12.1", "win32")
    assert config["python"] == config["base_python"] == "python.exe"
    assert config["site_dir"].replace("\\", "/") == "Lib/site-packages"
