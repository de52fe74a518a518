"""ConfigError in a module of its own: config.py raises it for a bad value, device.py for a missing device."""


class ConfigError(ValueError):
    """A parameter has a wrong name, type or value; the message names it and says what is allowed."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name  # the offending parameter, so the CLI can name its flag
