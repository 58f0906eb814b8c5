"""Deploying published layers: verify, unpack safely, post-install, swap into place.

The public API, for the ``venvstacks deploy`` command and for applications that
embed deployment::

    from venvstacks.deploy import deploy_layers

    result = deploy_layers("_artifacts", "/opt/layers", include=["app-chat"])
    for app in result.apps:
        subprocess.run([*app.command, "--help"], check=True)

See ``docs/deploy.md``.  Everything else in this package is an implementation
detail.
"""

from venvstacks.deploy.deployment import DeployedApp, DeployResult, deploy_layers
from venvstacks.errors import DeployError

__all__ = ["DeployError", "DeployResult", "DeployedApp", "deploy_layers"]
