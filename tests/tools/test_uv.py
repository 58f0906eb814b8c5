from __future__ import annotations

from pathlib import Path

from venvstacks.tools.uv import compute_uv_environment


def test_user_configuration_is_dropped_network_settings_kept() -> None:
    env = compute_uv_environment(
        {
            "PATH": "/usr/bin",
            "HOME": "/home/me",
            "UV_INDEX_URL": "https://example.invalid/simple",
            "UV_CONSTRAINT": "c.txt",
            "UV_PYTHON_DOWNLOADS_JSON_URL": "file:///x.json",
            "UV_INDEX_PRIVATE_USERNAME": "me",
            "UV_INDEX_PRIVATE_PASSWORD": "secret",
            "UV_CACHE_DIR": "/cache",
            "UV_PYTHON_INSTALL_MIRROR": "https://mirror.invalid",
            "UV_HTTP_TIMEOUT": "5",
            "PIP_INDEX_URL": "https://example.invalid/simple",
            "VIRTUAL_ENV": "/venv",
            "PYTHONPATH": "/src",
            "HTTPS_PROXY": "http://proxy:3128",
        }
    )
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "UV_INDEX_PRIVATE_USERNAME": "me",
        "UV_INDEX_PRIVATE_PASSWORD": "secret",
        "UV_CACHE_DIR": "/cache",
        "UV_PYTHON_INSTALL_MIRROR": "https://mirror.invalid",
        "UV_HTTP_TIMEOUT": "5",
        "HTTPS_PROXY": "http://proxy:3128",
        "PYTHONDONTWRITEBYTECODE": "1",
        "UV_NO_CONFIG": "1",
        "UV_NO_PROGRESS": "1",
        "UV_PYTHON_INSTALL_BIN": "0",
        "UV_PYTHON_INSTALL_REGISTRY": "0",
    }


def test_project_commands_hide_user_config_instead_of_no_config(tmp_path: Path) -> None:
    env = compute_uv_environment(
        {"PATH": "/usr/bin", "XDG_CONFIG_HOME": "/home/me/.config"}, tmp_path
    )
    assert "UV_NO_CONFIG" not in env
    assert env["XDG_CONFIG_HOME"] == env["XDG_CONFIG_DIRS"] == str(tmp_path)
