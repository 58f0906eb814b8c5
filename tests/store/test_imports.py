"""The store runs on machines that only install layers: it must not need the build stages."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("venvstacks.publish", "venvstacks.builder", "venvstacks.lock", "venvstacks.pipeline")


def test_store_imports_no_publish_build_or_lock_modules() -> None:
    code = (
        "import sys, venvstacks.store; "
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('venvstacks.'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = proc.stdout.split()
    assert "venvstacks.store.operations" in loaded
    assert [
        m for m in loaded if m in FORBIDDEN or m.startswith(tuple(f"{f}." for f in FORBIDDEN))
    ] == []
