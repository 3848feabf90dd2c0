"""The one exception type for user mistakes: the CLI prints it as a single line and exits 2."""


class UserError(Exception):
    """A mistake in the user's input (file, config, argument), reported without a traceback."""


def located(message: str, *, file=None, row=None, column=None, key=None) -> str:
    """Prefix a message with where the problem is, e.g. ``sheet.csv, row 3, column 'lr': ...``."""
    where = []
    if file is not None:
        where.append(str(file))
    if row is not None:
        where.append(f"row {row}")
    if column is not None:
        where.append(f"column {column!r}")
    if key is not None:
        where.append(f"key {key!r}")
    return f"{', '.join(where)}: {message}" if where else message


class RunFailed(Exception):
    """A run that started correctly but could not finish (e.g. a loss went non-finite)."""


class WriteFailed(RunFailed):
    """A file could not be written (no space, quota, an I/O error, a directory that vanished)."""

    def __init__(self, path, error: OSError):
        self.path = path
        self.error = error
        super().__init__(f"cannot write {path}: {error.strerror or error}")


class Interrupted(Exception):
    """Training stopped on a signal after saving a resumable checkpoint; `exit_code` is 128 + signal."""

    def __init__(self, message: str, exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code
