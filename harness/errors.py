"""One error type for everything a user can get wrong or the infrastructure can break.

The CLI turns a HarnessError into a single line on stderr and its exit code, so every command
fails the same way: what is wrong, then what to do.
"""

from __future__ import annotations

# Exit codes shared by all commands (a CI job gates on them).
EXIT_OK = 0
EXIT_BREACH = 1  # the run worked and found a problem: SLA breach, drift, mismatch
EXIT_USAGE = 2  # bad input or broken infrastructure


class HarnessError(Exception):
    """A failure with a one-line explanation and a hint on what to do."""

    def __init__(self, message: str, hint: str = "", exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def line(self) -> str:
        from harness.redact import redact

        text = self.message if not self.hint else f"{self.message} — {self.hint}"
        return redact(text)


class CapabilityMissing(HarnessError):
    """The server lacks a feature a command needs; say so instead of failing obscurely."""
