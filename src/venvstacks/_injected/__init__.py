"""Files copied into built layers; importable, standard library only."""
