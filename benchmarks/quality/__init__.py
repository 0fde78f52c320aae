"""Quality benchmark: synthetic scenes with exact ground truth, scored with the paper's protocol.

``python -m benchmarks.quality`` runs it; see README.md (how the ground truth is exact) and
RESULTS.md (the numbers).
"""
