"""The error tree. Library code raises these with context; ``harness.cli`` catches them once, to print
one line and exit. A step catches one only to turn it into data (an item's no-data, a scenario's
failure in the timeline) or to raise it again with more context.

    LoadgateError                  exit code 3 unless said otherwise
    ├── ConfigError                bad checklist, settings or arguments (file, line, field)
    ├── StackError                 a process could not be started or reached
    │   ├── BinaryNotFoundError    redis-server / prometheus / ... not installed
    │   ├── PortInUseError         a requested port is taken
    │   ├── ProcessStartError      a child exited or never became ready (command, log tail)
    │   ├── EndpointUnreachable    a URL the user gave (or we started) does not answer
    │   └── PreflightError         the one request before any load was refused or unreadable
    ├── LoadError                  the runner could not run a scenario (bad name, zero requests)
    ├── GradeError                 grading failed as a whole (not an item: items get no-data)
    ├── ReportError                a run folder is missing or unreadable
    ├── RunFolderError             a run folder cannot be claimed or written (reused, locked, disk full)
    └── InternalError              anything else raised: a bug of the harness (traceback saved to a file)

Exit codes (``harness.cli``): 0 GO, 1 NO-GO, 2 INVALID, 3 usage/configuration/infrastructure
error, 130 interrupted.
"""

from __future__ import annotations


class LoadgateError(Exception):
    """Base of every error loadgate raises on purpose."""

    exit_code = 3


class ConfigError(LoadgateError):
    """Input the user wrote is wrong: says the file, line and field where known."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        if field:
            where += f"field '{field}': "
        super().__init__(where + message)
        self.path, self.line, self.field = path, line, field


class StackError(LoadgateError):
    """Something the stack needs could not be started or reached."""


class BinaryNotFoundError(StackError):
    pass


class PortInUseError(StackError):
    pass


class ProcessStartError(StackError):
    pass


class EndpointUnreachable(StackError):
    pass


class PreflightError(StackError):
    """The target refused the run's key (401/403), redirected, rejected the request's shape, or gave
    an answer that cannot be read: minutes of load would measure only that."""


class LoadError(LoadgateError):
    pass


class GradeError(LoadgateError):
    pass


class ReportError(LoadgateError):
    pass


class RunFolderError(LoadgateError):
    """The run folder cannot be used: reused without --force, locked by another gate, not writable."""


class InternalError(LoadgateError):
    """An exception nobody raised on purpose: exit 3 (not NO-GO), one line, the traceback kept in a file."""

    @classmethod
    def saved(cls, exc: BaseException, traceback_file: str) -> InternalError:
        said = " ".join(str(exc).split()) or "(no message)"
        return cls(f"internal error: {type(exc).__name__}: {said} (traceback in {traceback_file})")
