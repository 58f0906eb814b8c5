from __future__ import annotations

from typing import Any

from venvstacks.builder.layer_config import compute_layered_config, compute_runtime_config


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


def _posix(config: dict[str, Any]) -> dict[str, Any]:
    # Paths are written with the host's separator (as in 0.8); compare them as POSIX text.
    def fix(value: Any) -> Any:
        if isinstance(value, list):
            return [fix(item) for item in value]
        return value.replace("\\", "/") if isinstance(value, str) else value

    return {key: fix(value) for key, value in config.items()}


def test_linux_layered_config() -> None:
    config = compute_layered_config(
        "3.11.7",
        "cpython-3.11",
        ["framework-upper@1", "framework-base"],
        launch_module="app",
        platform="linux",
    )
    assert config == {
        "python": "bin/python",
        "py_version": "3.11.7",
        "base_python": "../cpython-3.11/bin/python",
        "site_dir": "lib/python3.11/site-packages",
        "pylib_dirs": [
            "../framework-upper@1/lib/python3.11/site-packages",
            "../framework-base/lib/python3.11/site-packages",
            "../cpython-3.11/lib/python3.11/site-packages",
        ],
        "dynlib_dirs": [
            "../framework-upper@1/share/venv/dynlib",
            "../framework-base/share/venv/dynlib",
            "../cpython-3.11/share/venv/dynlib",
        ],
        "launch_module": "app",
    }


def test_framework_config_on_a_runtime_has_no_launch_module() -> None:
    assert compute_layered_config("3.12.1", "cpython-3.12", [], platform="darwin") == {
        "python": "bin/python",
        "py_version": "3.12.1",
        "base_python": "../cpython-3.12/bin/python",
        "site_dir": "lib/python3.12/site-packages",
        "pylib_dirs": ["../cpython-3.12/lib/python3.12/site-packages"],
        "dynlib_dirs": ["../cpython-3.12/share/venv/dynlib"],
    }


def test_windows_layered_config() -> None:
    config = compute_layered_config(
        "3.11.7", "rt", ["framework-a"], launch_module="app", platform="win32"
    )
    assert _posix(config) == {
        "python": "Scripts/python.exe",
        "py_version": "3.11.7",
        "base_python": "../rt/python.exe",
        "site_dir": "Lib/site-packages",
        "pylib_dirs": ["../framework-a/Lib/site-packages", "../rt/Lib/site-packages"],
        "dynlib_dirs": ["../framework-a/Library/bin", "../rt/Library/bin"],
        "launch_module": "app",
    }
