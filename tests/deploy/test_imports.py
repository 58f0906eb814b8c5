"""Deploy runs on machines that only install layers: it must not need the build stages.

The import-linter contract keeps stages from importing later ones; this also
keeps `venvstacks.deploy` from importing the earlier stages it has no use for.
"""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("venvstacks.publish", "venvstacks.builder", "venvstacks.lock", "venvstacks.pipeline")


def test_deploy_imports_no_publish_build_or_lock_modules() -> None:
    code = (
        "import sys, venvstacks.deploy; "
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('venvstacks.'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = proc.stdout.split()
    assert "venvstacks.deploy.deployment" in loaded
    assert [
        m for m in loaded if m in FORBIDDEN or m.startswith(tuple(f + "." for f in FORBIDDEN))
    ] == []
