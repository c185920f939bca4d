#!/usr/bin/env python
"""Training speed of a train_<model>.py config, optionally against MMSeg's official tools/train.py path.

    python tools/benchmark.py fcn                        # one JSON line: ms/iter, data wait, memory, GFLOPs
    python tools/benchmark.py fcn --vs-official          # ours and official in the same run, ratio ours/official
    python tools/benchmark.py all --vs-official --markdown bench.md
    python tools/benchmark.py --data-pipeline            # images/s of the ADE20K train pipeline per worker

The measurements themselves: training/measure/ (benchmark.py is their command line).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training.measure.benchmark import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
