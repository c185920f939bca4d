#!/usr/bin/env python
"""Checks an ADEChallengeData2016 directory: every split there, images and annotations paired, every file
decodes, labels within 0..150. Exit 0 when usable, 2 with the problems listed otherwise.

    python tools/check_ade.py [data/ade/ADEChallengeData2016]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training.data.dataset_check import check_ade, describe  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = argv[0] if argv else 'data/ade/ADEChallengeData2016'
    problems = check_ade(root, use_cache=False)
    if problems:
        print(describe(root, problems), file=sys.stderr)
        return 2
    print(f'{root}: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
