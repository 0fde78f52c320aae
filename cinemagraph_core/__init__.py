"""3D cinemagraphs from a single image (Li et al., CVPR 2023) in plain PyTorch.

Stages, in pipeline order: ``depth`` -> ``motion`` -> ``layers`` (LDI) -> ``points`` ->
``animate`` -> ``render`` -> decode; ``pipeline`` runs the whole chain, ``job`` one image's files to a
video file, ``batch`` many of them (resumable, local workers or Ray). This package never imports ComfyUI.
"""
__version__ = "0.1.0"
