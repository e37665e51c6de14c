"""consultations: qualitative analysis of consultation workshops."""

__version__ = "0.1.0"
