"""A small planted target: the agent service's metric names and API with one known fault switched on.

``python -m tests.planted --port P [--leak-mb-per-s 2] [--slow-every 50 --slow-s 4.2]
[--error-every 200] [--any-key] [--no-rate-limit] [--max-concurrency N --service-time-s S]
[--access-log PATH [--log-input]]``
"""
