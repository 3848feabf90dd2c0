"""The one exception type for user mistakes: the CLI prints it as a single line and exits 2."""

from pathlib import Path


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


class DamagedFile(UserError):
    """A file of a run directory that is truncated, corrupt, empty or not what ex-color wrote."""

    def __init__(self, path, reason: str):
        self.path = path
        super().__init__(f"{path}: damaged or not written by ex-color ({reason})")


class reading:  # noqa: N801 - used as a context manager: `with reading(path): ...`
    """Around the reading and parsing of one file of a run directory: any error becomes one DamagedFile line
    naming it (a UserError passes as it is)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if error is None or isinstance(error, UserError) or not isinstance(error, Exception):
            return False
        detail = " ".join(str(error).split())[:120]
        raise DamagedFile(self.path, f"{kind.__name__}: {detail}" if detail else kind.__name__) from None


def whole_text(path) -> str:
    """A text file ex-color wrote (UTF-8, ending with a line end), or DamagedFile naming it: a file cut short
    mid-line is refused here rather than read as a shorter, valid-looking one."""
    with reading(path):
        data = Path(path).read_bytes()
        text = data.decode("utf-8")
    if data and not data.endswith(b"\n"):
        raise DamagedFile(path, "cut short: its last line has no end")
    return text
