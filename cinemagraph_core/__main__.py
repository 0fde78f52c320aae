"""``python -m cinemagraph_core``: see ``cli.py``."""
import os
import sys

# Idle OpenMP threads sleep instead of spinning: on a busy machine spinning threads made the per-frame
# work several times slower (must be set before torch loads its OpenMP runtime).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .cli import main  # noqa: E402

sys.exit(main())
