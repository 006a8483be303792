"""apprentice: turn a base language model into a coding agent, one graded stage at a time."""

__version__ = "0.1.0"
