"""``venvstacks sizes`` on a real stack built from PyPI packages (idna, six, attrs, certifi).

Two independent frameworks both install ``six``, and the application runs on
both, so ``six`` is shadowed in its stack.  The stack is locked, built and
published once per module; the byte counts are checked against the published
archives' members.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_lock import venvstacks

pytestmark = pytest.mark.slow

SPEC = """\
[[runtimes]]
name = "cpython-3.11"
python_implementation = "cpython@3.11"
requirements = []

[[frameworks]]
name = "web"
runtime = "cpython-3.11"
requirements = ["idna", "six"]

[[frameworks]]
name = "util"
runtime = "cpython-3.11"
requirements = ["six", "attrs"]

[[applications]]
name = "tool"
launch_module = "launch/tool.py"
frameworks = ["web", "util"]
requirements = ["certifi", "attrs"]
versioned = true
"""
LAYERS = ["cpython-3.11", "framework-web", "framework-util", "app-tool"]


def run(project: Path, *args: str) -> str:
    proc = venvstacks(project, *args, offline=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, python_mirror: Path) -> Path:
    project = tmp_path_factory.mktemp("sizes") / "project"
    (project / "launch").mkdir(parents=True)
    (project / "launch" / "tool.py").write_text("import attrs, certifi, idna, six\nprint('ok')\n")
    (project / "venvstacks.toml").write_text(SPEC)
    run(project, "build", "--lock-if-needed", "--python-mirror", str(python_mirror))
    run(project, "publish")
    return project


def sizes_json(project: Path, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run(project, "sizes", "--json", *args))
    return data


def archive_totals(archive: Path) -> tuple[int, int]:
    """Bytes and paths of an archive's files and symlinks (hard links add no bytes)."""
    size = count = 0
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile():
                size += member.size
            elif member.issym():
                size += len(member.linkname)
            count += not member.isdir()
    return size, count


def test_bytes_add_up_to_the_published_layers(stack: Path) -> None:
    data = sizes_json(stack)
    assert data["format"] == "venvstacks-sizes/1"
    layers = {layer["layer_name"]: layer for layer in data["layers"]}
    assert list(layers) == LAYERS
    for layer in layers.values():
        # Everything attributed, nothing counted twice ...
        assert sum(p["bytes"] for p in layer["packages"]) == layer["unpacked_bytes"]
        assert sum(p["files"] for p in layer["packages"]) == layer["file_count"]
        # ... and the total is what the archive unpacks to.
        (archive,) = layer["archives"]
        assert archive["format"] == "tar.xz"
        assert archive["bytes"] == (stack / "_artifacts" / archive["archive_name"]).stat().st_size
        published = archive_totals(stack / "_artifacts" / archive["archive_name"])
        assert published == (layer["unpacked_bytes"], layer["file_count"])
        assert 0 < layer["bytecode_bytes"] < layer["unpacked_bytes"]
    names = {n: [p["name"] for p in layer["packages"]] for n, layer in layers.items()}
    assert names["cpython-3.11"][0] == "(python runtime)"
    assert set(names["framework-web"]) == {"idna", "six", "(venvstacks layer files)"}
    assert set(names["app-tool"]) == {"certifi", "(venvstacks layer files)", "(launch modules)"}
    util = {p["name"]: p for p in layers["framework-util"]["packages"]}
    assert util["attrs"]["reasons"] == ["requirement 'attrs'", "requirement 'attrs' (app-tool)"]
    assert util["six"]["reasons"] == ["requirement 'six'"]
    # Its bytecode counts for it too.
    assert {f["path"] for f in util["six"]["largest_files"][:2]} == {
        "lib/python3.11/site-packages/six.py",
        "lib/python3.11/site-packages/__pycache__/six.cpython-311.pyc",
    }
    launch = {p["name"]: p for p in layers["app-tool"]["packages"]}["(launch modules)"]
    assert sorted(f["path"] for f in launch["largest_files"]) == [
        "lib/python3.11/site-packages/__pycache__/tool.cpython-311.pyc",
        "lib/python3.11/site-packages/tool.py",
    ]


def test_shadowed_packages_and_identical_files(stack: Path) -> None:
    data = sizes_json(stack, "--what-if-excluded", "six")
    six_bytes = {
        layer["layer_name"]: p["bytes"]
        for layer in data["layers"]
        for p in layer["packages"]
        if p["name"] == "six"
    }
    assert data["shadowed"] == [
        {
            "application": "app-tool",
            "package": "six",
            "used_in": {"layer_name": "framework-web", "version": data["shadowed"][0]["used_in"]["version"]},
            "shadowed_in": [{"layer_name": "framework-util", "version": data["shadowed"][0]["used_in"]["version"]}],
            "shadowed_bytes": six_bytes["framework-util"],
        }
    ]  # fmt: skip
    six_py = [f for f in data["identical_files"] if f["locations"][0]["path"].endswith("/six.py")]
    assert [loc["layer_name"] for loc in six_py[0]["locations"]] == [
        "framework-web",
        "framework-util",
    ]
    assert six_py[0]["duplicate_bytes"] == six_py[0]["bytes"]
    (estimate,) = data["what_if_excluded"]
    assert estimate["saved_bytes"] == sum(six_bytes.values())
    assert [layer["layer_name"] for layer in estimate["layers"]] == [
        "framework-web",
        "framework-util",
    ]
    assert estimate["needed_by"] == []
    text = run(stack, "sizes", "--what-if-excluded", "six")
    assert "Shadowed packages" in text
    assert "app-tool    │ six     │ framework-web" in text
    assert "Excluding six would save " in text


def test_compare_reports_only_changed_layers(
    stack: Path, tmp_path: Path, python_mirror: Path
) -> None:
    earlier = tmp_path / "earlier"
    shutil.copytree(stack / "_artifacts", earlier)
    data = sizes_json(stack, "--compare", str(earlier))
    assert data["comparison"]["changed"] == []
    assert data["comparison"]["download_bytes"] == 0
    assert data["comparison"]["unchanged"] == LAYERS

    launch = stack / "launch" / "tool.py"
    launch.write_text(launch.read_text() + "print('changed')\n")
    run(stack, "build", "--lock-if-needed", "--python-mirror", str(python_mirror))
    run(stack, "publish")
    data = sizes_json(stack, "--compare", str(earlier))
    app = next(layer for layer in data["layers"] if layer["layer_name"] == "app-tool")
    assert data["comparison"] == {
        "changed": [
            {
                "layer_name": "app-tool",
                "install_target": app["install_target"],
                "previous_install_target": "app-tool@1",
                "download_bytes": app["archives"][0]["bytes"],
            }
        ],
        "unchanged": LAYERS[:3],
        "download_bytes": app["archives"][0]["bytes"],
        "full_download_bytes": sum(layer["archives"][0]["bytes"] for layer in data["layers"]),
    }


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("meta", "rect", "br"):
            self.open.append(tag)
        self.references += [
            f"{tag} {name}={value}"
            for name, value in attrs
            if name in ("src", "href", "xlink:href", "srcset", "action")
            or (value and "url(" in value)
        ]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.references += [f"{tag} {name}" for name, _ in attrs if name in ("src", "href")]

    def handle_endtag(self, tag: str) -> None:
        assert self.open, f"unbalanced </{tag}>"
        assert self.open.pop() == tag, f"unbalanced </{tag}>"


def test_html_report_is_self_contained(stack: Path, tmp_path: Path) -> None:
    report = tmp_path / "sizes.html"
    run(stack, "sizes", "--html", str(report))
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    parser = _Collector()
    parser.feed(text)
    parser.close()
    assert parser.open == []
    assert parser.references == []
    assert not {"script", "link", "img", "iframe", "object"} & set(parser.tags)
    assert "@import" not in text
    assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert parser.tags.count("svg") == len(LAYERS)  # one treemap per layer
    assert parser.tags.count("table") >= len(LAYERS) + 1
    assert "<title>idna " in text  # the treemap's tooltips name the packages
    assert "<h2>Shadowed packages</h2>" in text


def test_not_built_layers_are_named(stack: Path) -> None:
    proc = venvstacks(stack, "sizes", "--build-dir", "elsewhere")
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: cpython-3.11, framework-web, framework-util, app-tool: not built in "
        f"{stack}/elsewhere; run 'venvstacks build' first (or pass --build-dir)\n"
    )
