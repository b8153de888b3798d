"""User-facing errors: one clear line, a non-zero exit, no traceback unless --debug."""


class RklabError(Exception):
    """An error caused by the user's input or environment.

    The message must be one line that names the input and says what to do.
    The CLI prints it as ``rklab: error: <message>`` and exits with ``exit_code``.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ModelFileError(RklabError):
    """A model file is missing, empty, truncated or of the wrong format."""


class RuntimeLibraryError(RklabError):
    """The native runtime library is missing, for another architecture or of an unsupported version."""


class MemoryAborted(RklabError):
    """The memory guard stopped a run because MemAvailable fell below its floor."""

    def __init__(self, message: str, last_sample: dict | None = None):
        super().__init__(message, exit_code=3)
        self.last_sample = last_sample or {}


class PredictedOOM(RklabError):
    """Pre-flight: the engine predicts the model will not fit in the live MemAvailable."""

    def __init__(self, message: str, predicted_mb: float | None = None, available_mb: float | None = None):
        super().__init__(message, exit_code=3)
        self.predicted_mb = predicted_mb
        self.available_mb = available_mb
