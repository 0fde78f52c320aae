"""Point splatting and the two-side blend."""
