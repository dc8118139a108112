"""loadgate: load-test an AI-agent service, grade it against a launch checklist, report go/no-go."""

__version__ = "0.1.0"
