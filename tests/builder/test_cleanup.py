from __future__ import annotations

from pathlib import Path

from venvstacks.builder.cleanup import (
    relativise_symlinks,
    remove_installer_caches,
    remove_scripts,
)

SITE = Path("lib/python3.11/site-packages")
HASH = "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

TOOL_RECORD = (
    "tool/__init__.py,sha256=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN_XKdLCPjaYaY,12\n"
    f"../../../bin/tool,{HASH},0\n"
    f"../../../bin/tool-gui,{HASH},0\n"
    f"../../../bin/extras/helper,{HASH},0\n"
    f"../../../bin/python-tool,{HASH},0\n"
    '"tool/odd,name.py",sha256=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN_XKdLCPjaYaY,12\n'
    "tool-1.0.dist-info/METADATA,sha256=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN_XKdLCPjaYaY,12\n"
    "tool-1.0.dist-info/RECORD,,\n"
)
OTHER_RECORD = (
    "other/__init__.py,sha256=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN_XKdLCPjaYaY,12\n"
    "other-2.0.dist-info/RECORD,,\n"
)


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def _link(path: Path) -> str:
    return str(path.readlink())


def _layer(tmp_path: Path) -> Path:
    layer = tmp_path / "_build" / "framework-x"
    bin_dir = layer / "bin"
    (bin_dir / "extras").mkdir(parents=True)
    for name in ("tool", "tool-gui", "activate", "python-tool", "extras/helper"):
        (bin_dir / name).write_text("#!/bin/sh\n")
    (bin_dir / "python").symlink_to("../../cpython-3.11/bin/python")
    (bin_dir / "python3").symlink_to("python")
    (bin_dir / "python3.11").symlink_to("python")
    (bin_dir / "loose-link").symlink_to("tool")
    site = layer / SITE
    (site / "tool-1.0.dist-info").mkdir(parents=True)
    (site / "tool-1.0.dist-info" / "RECORD").write_text(TOOL_RECORD)
    (site / "other-2.0.dist-info").mkdir()
    (site / "other-2.0.dist-info" / "RECORD").write_text(OTHER_RECORD)
    return layer


def test_remove_scripts_keeps_only_python_entries(tmp_path: Path) -> None:
    layer = _layer(tmp_path)
    other_before = (layer / SITE / "other-2.0.dist-info/RECORD").stat()
    removed = remove_scripts(layer, SITE)
    assert removed == ["bin/activate", "bin/extras", "bin/loose-link", "bin/tool", "bin/tool-gui"]
    assert _names(layer / "bin") == ["python", "python-tool", "python3", "python3.11"]
    assert _link(layer / "bin/python") == "../../cpython-3.11/bin/python"
    assert _link(layer / "bin/python3") == "python"
    assert (layer / "bin/python-tool").read_text() == "#!/bin/sh\n"
    # The removed scripts' rows are gone (files inside a removed folder too); every
    # other row is kept exactly as it was written.
    assert (layer / SITE / "tool-1.0.dist-info/RECORD").read_text() == (
        "tool/__init__.py,sha256=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN_XKdLCPjaYaY,12\n"
        f"../../../bin/python-tool,{HASH},0\n"
        '"tool/odd,name.py",sha256=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN_XKdLCPjaYaY,12\n'
        "tool-1.0.dist-info/METADATA,sha256=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN_XKdLCPjaYaY,12\n"
        "tool-1.0.dist-info/RECORD,,\n"
    )
    # A RECORD that lists none of them is not rewritten.
    assert (layer / SITE / "other-2.0.dist-info/RECORD").read_text() == OTHER_RECORD
    assert (layer / SITE / "other-2.0.dist-info/RECORD").stat().st_mtime_ns == (
        other_before.st_mtime_ns
    )


def test_remove_scripts_twice_removes_nothing_more(tmp_path: Path) -> None:
    layer = _layer(tmp_path)
    remove_scripts(layer, SITE)
    record = (layer / SITE / "tool-1.0.dist-info/RECORD").read_bytes()
    assert remove_scripts(layer, SITE) == []
    assert (layer / SITE / "tool-1.0.dist-info/RECORD").read_bytes() == record


def test_remove_scripts_uses_the_windows_scripts_folder(tmp_path: Path) -> None:
    layer = tmp_path / "app-x"
    (layer / "Scripts").mkdir(parents=True)
    (layer / "Lib/site-packages").mkdir(parents=True)
    for name in ("python.exe", "pythonw.exe", "tool.exe", "activate.bat"):
        (layer / "Scripts" / name).write_bytes(b"MZ")
    assert remove_scripts(layer, Path("Lib/site-packages")) == [
        "Scripts/activate.bat",
        "Scripts/tool.exe",
    ]
    assert _names(layer / "Scripts") == ["python.exe", "pythonw.exe"]


def test_remove_scripts_without_a_script_folder(tmp_path: Path) -> None:
    (tmp_path / SITE).mkdir(parents=True)
    assert remove_scripts(tmp_path, SITE) == []


def test_remove_installer_caches(tmp_path: Path) -> None:
    layer = _layer(tmp_path)
    info = layer / SITE / "tool-1.0.dist-info"
    (info / "uv_cache.json").write_text('{"timestamp": 1}')
    (info / "RECORD").write_text(f"tool-1.0.dist-info/uv_cache.json,{HASH},16\n" + TOOL_RECORD)
    (layer / SITE / "other-2.0.dist-info/uv_cache.json").write_text("{}")  # not in its RECORD
    remove_installer_caches(layer, SITE)
    assert not list((layer / SITE).glob("*.dist-info/uv_cache.json"))
    assert (info / "RECORD").read_text() == TOOL_RECORD
    assert (layer / SITE / "other-2.0.dist-info/RECORD").read_text() == OTHER_RECORD
    remove_installer_caches(layer, SITE)  # nothing left to do
    assert (info / "RECORD").read_text() == TOOL_RECORD


def test_relativise_symlinks(tmp_path: Path) -> None:
    build = tmp_path / "_build"
    layer = build / "framework-x"
    (layer / "lib").mkdir(parents=True)
    (build / "cpython-3.11/bin").mkdir(parents=True)
    (build / "cpython-3.11/bin/python").write_text("runtime")
    (layer / "lib/data.txt").write_text("data")
    outside = tmp_path / "outside"
    (outside / "tree").mkdir(parents=True)
    (outside / "file.txt").write_text("outside file")
    (outside / "tree/inner.txt").write_text("inner")
    (layer / "lib/to-runtime").symlink_to(build / "cpython-3.11/bin/python")
    (layer / "lib/to-own-file").symlink_to(layer / "lib/data.txt")
    (layer / "lib/relative").symlink_to("data.txt")
    (layer / "lib/to-outside-file").symlink_to(outside / "file.txt")
    (layer / "lib/to-outside-tree").symlink_to(outside / "tree")
    relativise_symlinks(layer, build)
    assert _link(layer / "lib/to-runtime") == "../../cpython-3.11/bin/python"
    assert _link(layer / "lib/to-own-file") == "data.txt"
    assert _link(layer / "lib/relative") == "data.txt"
    assert (layer / "lib/to-runtime").read_text() == "runtime"
    # What lies outside the build folder is copied in.
    assert not (layer / "lib/to-outside-file").is_symlink()
    assert (layer / "lib/to-outside-file").read_text() == "outside file"
    assert not (layer / "lib/to-outside-tree").is_symlink()
    assert (layer / "lib/to-outside-tree/inner.txt").read_text() == "inner"
