"""Deploying published layers: verify, unpack safely, post-install, swap into place.

The public API, for the ``venvstacks deploy`` command and for applications that
embed deployment::

    from venvstacks.deploy import deploy_layers, load_public_key

    result = deploy_layers(
        "_artifacts",
        "/opt/layers",
        include=["app-chat"],
        trusted_keys=[load_public_key(Path("release.pub"))],  # optional: signed only
    )
    for app in result.apps:
        subprocess.run([*app.command, "--help"], check=True)

See ``docs/deploy.md``.  Everything else in this package is an implementation
detail.
"""

from venvstacks.deploy.deployment import DeployedApp, DeployResult, deploy_layers
from venvstacks.deploy.integrity import LayerCheck
from venvstacks.deploy.repair import DeploymentCheck, verify_deployment
from venvstacks.errors import DeployError
from venvstacks.signing import PublicKey, SigningError, load_public_key

__all__ = [
    "DeployError",
    "DeployResult",
    "DeployedApp",
    "DeploymentCheck",
    "LayerCheck",
    "PublicKey",
    "SigningError",
    "deploy_layers",
    "load_public_key",
    "verify_deployment",
]
