#!/usr/bin/env python
"""Writes the tiny ADE20K-format subset that tests and --smoke runs use (shape colours say the class).

    python tools/make_tiny_ade.py [--out data/ade_tiny/ADEChallengeData2016] [--seed 0]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training.data.tiny_ade import DEFAULT_OUT, NUM_TRAIN, NUM_VAL, make_tiny_ade  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=DEFAULT_OUT, help=f'ADEChallengeData2016 directory (default {DEFAULT_OUT})')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    print(f'tiny ADE subset: {make_tiny_ade(args.out, args.seed)} ({NUM_TRAIN} training, {NUM_VAL} validation images)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
