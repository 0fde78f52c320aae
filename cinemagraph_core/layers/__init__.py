"""Layered depth image: depth bins, sequential layering, inpainting."""
