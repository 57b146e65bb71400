"""Exit codes and the one-line error messages of the command line."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED_CHECK = 1  # gradcheck found a wrong gradient
EXIT_USAGE = 2  # bad arguments, bad data, bad model file
EXIT_DIVERGED = 3  # training produced NaN/inf; nothing was overwritten
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head`


class CLIError(Exception):
    """An error in what the user asked for; printed as one line, exit code 2."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code
