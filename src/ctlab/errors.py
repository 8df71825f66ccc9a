"""The one exception type the CLI turns into a one-line message."""


class CtlabError(Exception):
    """A user-facing failure: bad input, a missing file. The message names the file."""
