from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from venvstacks.builder.dynlib import (
    DYNLIB_DIR,
    SharedLibrary,
    compute_excluded,
    find_conflicts,
    find_shared_libraries,
    is_extension_module,
    link_shared_libraries,
)
from venvstacks.errors import BuildError

SITE = Path("lib/python3.11/site-packages")


@pytest.mark.parametrize(
    ("name", "short_version", "expected"),
    [
        ("_core.cpython-311-x86_64-linux-gnu.so", "3.11", True),
        ("_core.cpython-311-aarch64-linux-gnu.so", "3.11", True),
        ("_core.cpython-311-darwin.so", "3.11", True),
        ("_core.cpython-311d-x86_64-linux-gnu.so", "3.11", True),  # debug build ABI flag
        ("_core.cpython-312-x86_64-linux-gnu.so", "3.12", True),
        ("_core.cpython-312-darwin.so", "3.12", True),
        ("_core.abi3.so", "3.11", True),
        ("_core.abi3.so", "3.12", True),
        # Another version's extension module is not this layer's: it is a plain .so.
        ("_core.cpython-312-x86_64-linux-gnu.so", "3.11", False),
        ("_core.cpython-311-x86_64-linux-gnu.so", "3.12", False),
        ("libpng16.so", "3.11", False),
        ("libpng16.so.16", "3.11", False),
        ("libomp.dylib", "3.12", False),
        ("_core.so", "3.11", False),  # a bare .so may be either; it is shared like 0.8 does
    ],
)
def test_is_extension_module(name: str, short_version: str, expected: bool) -> None:
    assert is_extension_module(name, short_version) is expected


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("PIL/.libs/libpng16.so.16", ["libpng16.*"], True),
        ("libpng16.so", ["libpng16.*"], True),
        ("PIL/.libs/libpng16-1a2b.so.16", ["libpng16.*"], False),
        ("cv2/libpng16.so", ["PIL/**/libpng16.*"], False),
        ("PIL/.libs/libpng16.so.16", ["PIL/**/libpng16.*"], True),
        ("PIL/libpng16.so", ["PIL/**/libpng16.*"], True),  # ** also matches no folder
        ("PIL/a/b/libpng16.so", ["PIL/**/libpng16.*"], True),
        ("triton/_C/libtriton.so", ["triton/**"], True),
        ("triton/backends/nvidia/lib/libcupti.so.12", ["triton/**"], True),
        ("not_triton/libx.so", ["triton/**"], False),
        ("anything/at/all.so", ["*"], True),
        ("libx.so", ["*"], True),
        ("nvidia/cublas/lib/libcublas.so.12", ["/libcublas.so.12"], True),  # a leading / is allowed
        # Patterns match the end of the path: any folder above the match is fine.
        ("vendor/PIL/.libs/libpng16.so", ["PIL/**/libpng16.*"], True),
        # * and ? stay inside one path segment.
        ("PIL/x/libpng16.so", ["PIL/*.so"], False),
        ("PIL/libpng16.so", ["PIL/*.so"], True),
        ("a/libz.so", ["lib?.so"], True),
        ("a/libzz.so", ["lib?.so"], False),
        ("a/b/libz.so", ["a?b/libz.so"], False),
        # ** inside a segment is an ordinary *: it does not cross folders.
        ("torch/lib/libc10.so", ["torch**"], False),
        ("torch_x.so", ["torch**"], True),
        # Character classes, as in glob.translate.
        ("a/libfoo1.so", ["libfoo[0-9].so"], True),
        ("a/libfoox.so", ["libfoo[0-9].so"], False),
        ("a/libfoox.so", ["libfoo[!0-9].so"], True),
        ("a/libfoo[.so", ["libfoo[.so"], True),  # an unclosed [ is literal
        ("libpng16.so", [], False),
        ("libpng16.so", ["nope", "libpng16.*"], True),
    ],
)
def test_compute_excluded(path: str, patterns: list[str], expected: bool) -> None:
    assert compute_excluded(PurePosixPath(path), patterns) is expected


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def _link(path: Path) -> str:
    return str(path.readlink())


def _site(tmp_path: Path, files: dict[str, bytes]) -> Path:
    layer = tmp_path / "layer"
    for name, data in files.items():
        path = layer / SITE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (layer / SITE).mkdir(parents=True, exist_ok=True)
    return layer


def test_find_shared_libraries_skips_extension_modules_and_exclusions(tmp_path: Path) -> None:
    layer = _site(
        tmp_path,
        {
            "pkg/__init__.py": b"",
            "pkg/_ext.cpython-311-x86_64-linux-gnu.so": b"ext",
            "pkg/_stable.abi3.so": b"abi3",
            "pkg/libs/libfoo.so.1.2": b"foo",
            "pkg/libs/libbar.so": b"bar",
            "pkg/libs/libmac.dylib": b"mac",
            "pkg/libs/notes.so.txt": b"not a library",
            "triton/_C/libtriton.so": b"triton",
            "a/libzed.so": b"zed",
        },
    )
    libraries = find_shared_libraries(layer / SITE, "3.11", ["triton/**"])
    assert libraries == [
        SharedLibrary("libzed.so", PurePosixPath("a/libzed.so")),
        SharedLibrary("libbar.so", PurePosixPath("pkg/libs/libbar.so")),
        SharedLibrary("libfoo.so.1.2", PurePosixPath("pkg/libs/libfoo.so.1.2")),
        SharedLibrary("libmac.dylib", PurePosixPath("pkg/libs/libmac.dylib")),
    ]
    # For a 3.12 layer, a 3.11 extension module is just a library.
    names = [lib.name for lib in find_shared_libraries(layer / SITE, "3.12", ["*"])]
    assert names == []
    names = [lib.name for lib in find_shared_libraries(layer / SITE, "3.12", [])]
    assert "_ext.cpython-311-x86_64-linux-gnu.so" in names


def test_identical_files_with_one_name_are_not_a_conflict(tmp_path: Path) -> None:
    layer = _site(
        tmp_path,
        {"a/libsame.so": b"same", "b/libsame.so": b"same", "c/libdup.so": b"one"},
    )
    libraries = find_shared_libraries(layer / SITE, "3.11", [])
    assert find_conflicts(layer / SITE, libraries) == {}


def test_different_files_with_one_name_are_a_conflict(tmp_path: Path) -> None:
    layer = _site(
        tmp_path,
        {
            "a/libdup.so": b"one",
            "b/libdup.so": b"two",
            "c/libdup.so": b"one",
            "d/libsame.so": b"same",
            "e/libsame.so": b"same",
        },
    )
    libraries = find_shared_libraries(layer / SITE, "3.11", [])
    assert find_conflicts(layer / SITE, libraries) == {
        "libdup.so": [
            PurePosixPath("a/libdup.so"),
            PurePosixPath("b/libdup.so"),
            PurePosixPath("c/libdup.so"),
        ]
    }


def test_link_shared_libraries_makes_relative_links(tmp_path: Path) -> None:
    layer = _site(
        tmp_path,
        {
            "nvidia/cublas/lib/libcublas.so.12": b"cublas",
            "a/libsame.so": b"same",
            "b/libsame.so": b"same",
            "pkg/_ext.cpython-311-x86_64-linux-gnu.so": b"ext",
        },
    )
    dynlib = layer / DYNLIB_DIR
    dynlib.mkdir(parents=True)
    (dynlib / "libstale.so").symlink_to("../../../nowhere/libstale.so")  # from an earlier build
    count = link_shared_libraries(layer, SITE, "3.11", [], label="framework-x")
    assert count == 2
    assert _names(dynlib) == ["libcublas.so.12", "libsame.so"]
    assert _link(dynlib / "libcublas.so.12") == (
        "../../../lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.12"
    )
    assert _link(dynlib / "libsame.so") == "../../../lib/python3.11/site-packages/a/libsame.so"
    assert (dynlib / "libcublas.so.12").read_bytes() == b"cublas"


def test_link_shared_libraries_without_libraries_leaves_no_folder(tmp_path: Path) -> None:
    layer = _site(tmp_path, {"pkg/__init__.py": b"", "pkg/_e.abi3.so": b"ext"})
    (layer / DYNLIB_DIR).mkdir(parents=True)
    assert link_shared_libraries(layer, SITE, "3.11", [], label="framework-x") == 0
    assert not (layer / DYNLIB_DIR).exists()


def test_link_shared_libraries_reports_every_conflict(tmp_path: Path) -> None:
    layer = _site(
        tmp_path,
        {
            "vsnative/a/libdup.so": b"one",
            "vsnative/b/libdup.so": b"two",
            "other/liba.so.1": b"1",
            "vsnative/liba.so.1": b"2",
            "vsnative/c/libsame.so": b"same",
            "vsnative/d/libsame.so": b"same",
        },
    )
    with pytest.raises(BuildError) as caught:
        link_shared_libraries(layer, SITE, "3.11", [], label="framework-native")
    assert str(caught.value) == (
        "framework-native: shared libraries with the same name come from different files "
        "(liba.so.1 from other/liba.so.1, vsnative/liba.so.1; "
        "libdup.so from vsnative/a/libdup.so, vsnative/b/libdup.so); "
        "add the ones upper layers don't need to dynlib_exclude"
    )
    assert not (layer / DYNLIB_DIR).exists()
    # Excluding one of each pair resolves it.
    exclude = ["vsnative/b/libdup.so", "other/**"]
    assert link_shared_libraries(layer, SITE, "3.11", exclude, label="framework-native") == 3
