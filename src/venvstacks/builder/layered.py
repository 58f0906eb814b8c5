"""Building a framework or application layer: a virtual environment on the layers below.

The layer is assembled in a staging folder beside its build folder and swapped
in only when complete and checked, so a failed build leaves the previous build
of that layer usable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from venvstacks._injected.postinstall import install_python_wrapper, render_sitecustomize
from venvstacks.builder.app_modules import copy_app_modules
from venvstacks.builder.bytecode import compile_layer
from venvstacks.builder.cleanup import (
    relativise_symlinks,
    remove_installer_caches,
    remove_scripts,
)
from venvstacks.builder.dynlib import DYNLIB_DIR, link_shared_libraries
from venvstacks.builder.exclusions import render_install_pylock
from venvstacks.builder.layer_config import compute_layered_config, compute_site_dir
from venvstacks.builder.portability import find_build_paths
from venvstacks.builder.runtime import write_layer_files
from venvstacks.builder.stamp import install_layer
from venvstacks.builder.venv import compute_venv_python, create_layer_venv
from venvstacks.cache import BYTECODE_FOLDER
from venvstacks.errors import BuildError, ToolError
from venvstacks.fs import compute_staging_path, remove_tree
from venvstacks.lock.constraints import parse_locked_pins
from venvstacks.lock.status import load_pylock
from venvstacks.spec.graph import Layer
from venvstacks.tools._subprocess import Runner, run
from venvstacks.tools.uv import uv_pip_install_pylock

# Files that hold absolute paths by design: postinstall.py rewrites them on deployment
# and publishing leaves them out of archives.
DEPLOYMENT_RENDERED = ("pyvenv.cfg", "sitecustomize.py")

_CHECK_IMPORTS = """\
import importlib, json, sys
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(failed))
"""


@dataclass(frozen=True)
class LowerLayer:
    """A layer below the one being built: where it was built and where it deploys."""

    layer: Layer
    build_path: Path
    deployed_name: str


@dataclass(frozen=True)
class LayeredBuild:
    """Everything needed to build one framework or application layer."""

    layer: Layer
    spec_dir: Path
    build_dir: Path
    py_version: str
    pylock: Path
    python_platform: str
    runtime: LowerLayer
    frameworks: tuple[LowerLayer, ...]  # sys.path order
    stamp_inputs: Mapping[str, object] | None = None  # recorded as the folder is swapped in
    cache: Path | None = None  # the venvstacks cache folder (None: no cache)

    @property
    def site_dir(self) -> Path:
        """The layer's ``site-packages``, relative to its folder."""
        return compute_site_dir(self.py_version)


def find_top_level_names(site_packages: Path) -> list[str]:
    """Return the importable top-level names the layer's own distributions installed."""
    names: set[str] = set()
    for record in site_packages.glob("*.dist-info/RECORD"):
        for line in record.read_text(encoding="utf-8").splitlines():
            first = line.split(",", 1)[0].split("/", 1)
            top = first[0]
            if top.endswith((".dist-info", ".data", ".pth")) or top.startswith(("..", "_")):
                continue
            if len(first) > 1 and (site_packages / top / "__init__.py").exists():
                names.add(top)
            elif len(first) == 1 and top.endswith(".py"):
                names.add(top.removesuffix(".py"))
    return sorted(names)


def check_imports(python: Path, names: Sequence[str], *, label: str, runner: Runner) -> None:
    """Import *names* with the layer's interpreter; report every failure at once."""
    if not names:
        return
    completed = runner([python, "-B", "-c", _CHECK_IMPORTS, *names], check=False)
    try:
        failed: dict[str, str] = json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BuildError(
            f"{label}: the post-build check could not run the layer's interpreter",
            output=completed.output,
        ) from None
    if failed:
        details = "; ".join(f"{name} ({error})" for name, error in sorted(failed.items()))
        raise BuildError(f"{label}: importing the layer's packages failed: {details}")


def _install_packages(plan: LayeredBuild, python: Path, staging: Path, runner: Runner) -> None:
    lock = load_pylock(plan.pylock)
    pins = parse_locked_pins(lock) if lock is not None else ()
    exclude = plan.layer.exclude_packages
    if all(pin.shared or canonicalize_name(pin.name) in exclude for pin in pins):
        return  # everything comes from lower layers (or is excluded)
    pylock = plan.pylock
    if exclude:
        # Outside the layer folder, removed with the staging area's siblings.
        pylock = staging.with_name(f"{staging.name}.pylock") / "pylock.toml"
        pylock.parent.mkdir(parents=True, exist_ok=True)
        text = plan.pylock.read_text(encoding="utf-8")
        pylock.write_text(
            render_install_pylock(text, plan.pylock.parent, exclude), encoding="utf-8"
        )
    try:
        uv_pip_install_pylock(
            python, pylock, plan.python_platform, label=plan.layer.build_name, runner=runner
        )
    except ToolError as exc:
        raise BuildError(str(exc), output=exc.output) from exc
    finally:
        if pylock != plan.pylock:
            remove_tree(pylock.parent)


def build_layered_layer(plan: LayeredBuild, *, runner: Runner = run) -> Path:
    """Build *plan*'s layer into ``<build dir>/<build name>``; return that folder."""
    layer = plan.layer
    label = layer.build_name
    final = plan.build_dir / layer.build_name
    staging = compute_staging_path(final)
    remove_tree(staging)
    try:
        runtime_python = plan.runtime.build_path / "bin" / "python"
        if (
            sys.platform == "win32"
        ):  # pragma: no cover - Windows runtimes keep python.exe at the root
            runtime_python = plan.runtime.build_path / "python.exe"
        create_layer_venv(staging, runtime_python, label=label, runner=runner)
        python = staging / compute_venv_python()
        _install_packages(plan, python, staging, runner)
        site_packages = staging / plan.site_dir
        modules = [m for m in (layer.launch_module, *layer.support_modules) if m is not None]
        copy_app_modules(plan.spec_dir, modules, site_packages)
        remove_scripts(staging, plan.site_dir)
        remove_installer_caches(staging, plan.site_dir)
        relativise_symlinks(staging, plan.build_dir)
        short_version = ".".join(plan.py_version.split(".")[:2])
        lower = [*plan.frameworks, plan.runtime]
        if sys.platform != "win32":
            link_shared_libraries(
                staging, plan.site_dir, short_version, layer.dynlib_exclude, label=label
            )
            # In the build folder the layers below sit under their build names.
            install_python_wrapper(
                staging,
                [f"../{low.layer.build_name}/{DYNLIB_DIR.as_posix()}" for low in lower],
                f"../{plan.runtime.layer.build_name}/bin/python",
            )
        compile_layer(
            python,
            staging,
            [site_packages],
            prefix=label,
            cache=None if plan.cache is None else plan.cache / BYTECODE_FOLDER,
            runner=runner,
        )
        (site_packages / "sitecustomize.py").write_text(
            render_sitecustomize([low.build_path / plan.site_dir for low in lower], []),
            encoding="utf-8",
        )
        launch = None if layer.launch_module is None else layer.launch_module.stem
        config = compute_layered_config(
            plan.py_version,
            plan.runtime.deployed_name,
            [low.deployed_name for low in plan.frameworks],
            launch_module=launch,
        )
        write_layer_files(staging, config)
        leaks = [
            path
            for path in find_build_paths(staging, [plan.build_dir, plan.build_dir.resolve()])
            if Path(path).name not in DEPLOYMENT_RENDERED
        ]
        if leaks:
            raise BuildError(
                f"{label}: the built layer contains absolute paths of the build folder "
                f"({', '.join(leaks[:5])}); it would break once deployed elsewhere"
            )
        check_imports(python, find_top_level_names(site_packages), label=label, runner=runner)
        install_layer(staging, final, plan.stamp_inputs)
    finally:
        remove_tree(staging)
    return final
