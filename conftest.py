pytest_plugins = ["compliance.plugin"]
