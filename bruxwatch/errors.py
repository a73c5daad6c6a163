"""The one-line errors more than one layer raises or handles. Each message is one line that
says what went wrong and what to do; the command line prints it and exits with status 2."""


class StoreError(RuntimeError):
    """A recording file cannot be created, written or read; one line says why (raised by
    `store/`, handled by the session that writes a night and by the command line)."""
