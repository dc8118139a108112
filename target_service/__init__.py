"""The bundled reference agent service: the target loadgate tests by default (knows nothing of harness)."""
