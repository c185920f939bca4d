#!/usr/bin/env python
"""Which operations of each model's training step have no deterministic CUDA kernel (what --deterministic warns about
on a GPU), found on the CPU against torch's own list.

    python tools/deterministic_ops.py                       # every model, one JSON line each
    python tools/deterministic_ops.py fcn pspnet --markdown ops.md
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training.measure.deterministic_ops import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
