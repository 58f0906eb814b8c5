"""Building layers: runtimes from their sources, layered environments on top."""
