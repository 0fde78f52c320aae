"""Depth of the source view: external maps, the weight-free prior, DPT."""
