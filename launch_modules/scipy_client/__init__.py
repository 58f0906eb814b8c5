"""Launch package of app-scipy-client: uses two frameworks and a support module."""
