"""Support module shared by the quickstart applications."""


def describe(versions: dict[str, str]) -> str:
    """Render package versions as one line."""
    return ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))
