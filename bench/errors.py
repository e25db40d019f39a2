"""User-facing errors: the CLI prints `error: <message>` on one line and exits 2."""


class BenchError(Exception):
    """Bad input or environment. The message names the file or value and the fix."""
