#!/usr/bin/env python
"""torchrun with the run's exit status: 143 after a clean stop on SIGTERM (the requeue status), not torchrun's 1.

    python tools/torchrun.py --nproc-per-node=8 train_fcn.py
    python tools/torchrun.py --nnodes=2 --node-rank=0 --nproc-per-node=8 --master-addr=node0 --master-port=29500 \
        train_fcn.py            # on each node, with its own --node-rank

It takes torchrun's own arguments (training/torchrun_status.py says what changes).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training.torchrun_status import run_torchrun  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_torchrun(sys.argv[1:]))
