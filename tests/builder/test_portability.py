from __future__ import annotations

from pathlib import Path

from venvstacks.builder.portability import find_build_paths


def test_finds_build_paths_in_text_binary_and_symlinks(tmp_path: Path) -> None:
    layer = tmp_path / "_build" / "layer"
    (layer / "lib").mkdir(parents=True)
    build = tmp_path / "_build"
    (layer / "lib" / "clean.py").write_text("print('hi')\n")
    (layer / "lib" / "config.py").write_text(f"PREFIX = {str(build / 'layer')!r}\n")
    # A match split across the 1 MiB read boundary is still found.
    big = b"x" * ((1 << 20) - 5) + str(build).encode() + b"y" * 10
    (layer / "lib" / "big.bin").write_bytes(big)
    (layer / "lib" / "relative-link").symlink_to("clean.py")
    (layer / "lib" / "absolute-link").symlink_to("/usr/bin/env")
    assert find_build_paths(layer, [build]) == [
        "lib/absolute-link",
        "lib/big.bin",
        "lib/config.py",
    ]
