"""The one exception type for problems with the user's input.

Everything the converter can blame on its input (an unreadable checkpoint, a
config it cannot parse, a state_dict that does not fit the model) raises
ConversionError with a single-line message that names the file or key. The
CLI prints it as `converter: error: <message>` and exits with EXIT_ERROR;
anything else escaping is a converter bug and keeps its traceback.
"""

EXIT_ERROR = 2


class ConversionError(Exception):
    """A user-facing conversion failure; str(e) is the one-line message."""

    def __init__(self, message):
        # Messages become one line on stderr: never let a newline through.
        super().__init__(" ".join(str(message).split()))
