"""opencases: a self-hostable implementation of the Amazon Connect Cases API."""

__version__ = "0.1.0"
