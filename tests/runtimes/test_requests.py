from __future__ import annotations

from packaging.version import Version

from venvstacks.runtimes.requests import parse_runtime_request


def test_exact_request_matches_only_that_version() -> None:
    request = parse_runtime_request("cpython@3.11.7")
    assert str(request) == "cpython@3.11.7"
    assert request.is_exact
    assert request.matches(Version("3.11.7"))
    assert not request.matches(Version("3.11.8"))


def test_minor_request_matches_final_releases_of_that_minor() -> None:
    request = parse_runtime_request("cpython@3.12")
    assert not request.is_exact
    assert request.matches(Version("3.12.0"))
    assert request.matches(Version("3.12.9"))
    assert not request.matches(Version("3.13.0"))
    assert not request.matches(Version("3.12.0rc1"))


def test_prerelease_matches_when_named() -> None:
    assert parse_runtime_request("cpython@3.14.0rc1").matches(Version("3.14.0rc1"))
