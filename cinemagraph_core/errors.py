"""Errors the package raises for problems a user can fix."""
from __future__ import annotations


class CinemagraphError(ValueError):
    """Bad input or configuration, with a message that says what is wrong and how to fix it.

    A subclass of ValueError so that callers (ComfyUI, scripts) can catch it as one.
    """


class CheckpointError(CinemagraphError):
    """A model file is missing, unreadable, unsafe, or belongs to another network."""


class Interrupted(RuntimeError):
    """Raised by a progress callback to stop long work (e.g. ComfyUI's cancel button)."""
