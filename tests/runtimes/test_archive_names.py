from __future__ import annotations

import pytest
from packaging.version import Version

from venvstacks.runtimes.archive_names import (
    compute_host_triple,
    parse_archive_name,
    render_archive_name,
)


@pytest.mark.parametrize(
    ("filename", "version", "build", "triple", "flavor", "os", "libc", "arch", "variant"),
    [
        (
            "cpython-3.11.7+20240107-x86_64-unknown-linux-gnu-install_only.tar.gz",
            "3.11.7",
            "20240107",
            "x86_64-unknown-linux-gnu",
            "install_only",
            "linux",
            "gnu",
            "x86_64",
            None,
        ),
        (
            "cpython-3.12.8+20241219-aarch64-apple-darwin-install_only_stripped.tar.gz",
            "3.12.8",
            "20241219",
            "aarch64-apple-darwin",
            "install_only_stripped",
            "darwin",
            "none",
            "aarch64",
            None,
        ),
        (
            "cpython-3.13.0+20241016-x86_64_v3-unknown-linux-gnu-install_only.tar.gz",
            "3.13.0",
            "20241016",
            "x86_64_v3-unknown-linux-gnu",
            "install_only",
            "linux",
            "gnu",
            "x86_64",
            "v3",
        ),
        (
            "cpython-3.14.0rc1+local-x86_64-pc-windows-msvc-install_only.tar.gz",
            "3.14.0rc1",
            "local",
            "x86_64-pc-windows-msvc",
            "install_only",
            "windows",
            "none",
            "x86_64",
            None,
        ),
    ],
)
def test_parse_archive_name(
    filename: str, version: str, build: str, triple: str, flavor: str,
    os: str, libc: str, arch: str, variant: str | None,
) -> None:  # fmt: skip
    name = parse_archive_name(filename)
    assert name is not None
    assert (name.version, name.build, name.triple, name.flavor) == (
        Version(version),
        build,
        triple,
        flavor,
    )
    assert (name.os, name.libc, name.arch_family, name.arch_variant) == (os, libc, arch, variant)
    assert name.filename == filename


@pytest.mark.parametrize(
    "filename",
    [
        "cpython-3.11.7+20240107-x86_64-unknown-linux-gnu-pgo+lto-full.tar.zst",  # not install_only
        "cpython-3.11.7+20240107-x86_64-unknown-linux-gnu-install_only.tar.zst",
        "pypy-3.10.14+x-x86_64-unknown-linux-gnu-install_only.tar.gz",
        "cpython-3.11+20240107-x86_64-unknown-linux-gnu-install_only.tar.gz",  # no patch version
        "cpython-3.11.7+20240107-sparc64-unknown-linux-gnu-install_only.tar.gz",
        "cpython-3.11.7+20240107-x86_64-unknown-freebsd-install_only.tar.gz",
        "README.md",
    ],
)
def test_unusable_names_are_skipped(filename: str) -> None:
    assert parse_archive_name(filename) is None


def test_render_archive_name() -> None:
    assert (
        render_archive_name("3.12.1", "local", "x86_64-unknown-linux-gnu", "install_only")
        == "cpython-3.12.1+local-x86_64-unknown-linux-gnu-install_only.tar.gz"
    )


@pytest.mark.parametrize(
    ("machine", "system", "libc", "triple"),
    [
        ("x86_64", "linux", "glibc", "x86_64-unknown-linux-gnu"),
        ("aarch64", "linux", "musl", "aarch64-unknown-linux-musl"),
        ("arm64", "darwin", "", "aarch64-apple-darwin"),
        ("AMD64", "win32", "", "x86_64-pc-windows-msvc"),
        ("ARM64", "win32", "", "aarch64-pc-windows-msvc"),
    ],
)
def test_compute_host_triple(machine: str, system: str, libc: str, triple: str) -> None:
    assert compute_host_triple(machine, system, libc) == triple
