"""The learned networks of the official implementation (loaded from user-supplied files)."""
