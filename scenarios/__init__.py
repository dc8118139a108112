"""Locust scenario files (run them with `locust -f scenarios/<name>.py` or `loadgate run <name>`)."""
