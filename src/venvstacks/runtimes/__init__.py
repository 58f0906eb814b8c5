"""Base runtimes: what a runtime layer asks for, where it comes from, how it is installed."""
