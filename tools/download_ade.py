#!/usr/bin/env python
"""Downloads ADE20K (ADEChallengeData2016.zip, resumable, SHA-1 checked), unpacks it to data/ade/ and checks it;
a rerun that finds it complete does nothing. ADE_SEG_MIRROR=<base URL> fetches it from another server.

    python tools/download_ade.py [--root data/ade] [--keep-archive]     # or: make data

The work itself: training/data/ade_download.py.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training.data.ade_download import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
