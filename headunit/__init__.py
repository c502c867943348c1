"""headunit: a headless media daemon for cars."""

__version__ = "0.1.0"
