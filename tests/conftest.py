"""Shared test configuration. Keep this tiny: each area keeps its own fixtures in its own directory."""

pytest_plugins = ["pytester"]
