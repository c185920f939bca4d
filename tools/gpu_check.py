#!/usr/bin/env python
"""`make gpu-check`: the GPU paths on a machine with an NVIDIA GPU (environment, MMCV's compiled ops in every
precision and layout, every model's training steps in fp32 and --amp against MMSeg's official config).
Writes docs/gpu_check.md (+ JSON); without a GPU it says so and exits 0.

    python tools/gpu_check.py                        # everything (long: use shards on a time-limited machine)
    python tools/gpu_check.py --no-models            # environment and ops only
    python tools/gpu_check.py --no-ops --shard 1/4   # every 4th model from the first
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training.measure.gpu_check import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
