"""The one error type users see: a message, never a traceback (exit status 2)."""


class MssimError(Exception):
    """A problem with the user's input: a file, a field, a value or an override.

    The command line prints the message and exits with status 2. Library callers
    can catch it like any exception. The message names the file and the dotted
    field, what is allowed and what was given.
    """
