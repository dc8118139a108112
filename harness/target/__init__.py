"""The target contract: the one place that knows how to talk to and read the service under test.

``presets`` (the profiles a service starts from), ``requests`` (what is sent), ``responses`` and
``stream`` (how an answer is read), ``client`` (health, readiness, in-flight, the admin fault API),
``detect`` (which preset fits a service's metrics). The profile's shape is
``harness.schemas.service.ServiceProfile``. Nothing is imported here: ``harness.schemas`` imports
``presets`` while it loads, so this package must stay importable before it.
"""
