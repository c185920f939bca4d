"""Checks an ADEChallengeData2016 directory once, before a long run, and remembers that it passed
(command line: tools/check_ade.py).

Finds what would otherwise stop a run at iteration 37,000: a missing directory, an empty split, an
image without its annotation (or the reverse), an image or annotation that cannot be decoded, and a
label outside ADE20K's 0..150. A passed check is cached (keyed by the directory and its files'
names, sizes and times), so later runs only list the directory.
"""
import hashlib
import json
import os
import sys

import numpy as np
from PIL import Image

from ..errors import UserError

SPLITS = ('training', 'validation')
MAX_LABEL = 150  # ADE20K: 0 = other, 1..150 = classes
CACHE_DIR = os.path.join(os.environ.get('XDG_CACHE_HOME', os.path.expanduser('~/.cache')), 'ade20k-seg', 'data-check')
SHOWN = 5


def _listing(directory, suffix):
    """{stem: os.stat_result} of the files with `suffix` in `directory`."""
    with os.scandir(directory) as entries:
        return {e.name[:-len(suffix)]: e.stat() for e in entries if e.is_file() and e.name.endswith(suffix)}


def _decodes(path, check_labels):
    """None if the file decodes (and, for annotations, holds labels 0..150), else what is wrong."""
    try:
        with Image.open(path) as image:
            if not check_labels:
                image.draft('RGB', (max(1, image.width // 8), max(1, image.height // 8)))  # fast, still reads it all
                image.load()
                return None
            labels = np.asarray(image)
    except Exception as error:  # truncated, not an image, unreadable
        return f'cannot be decoded ({type(error).__name__}: {error})'
    if labels.ndim != 2:
        return f'is not a single-channel label map (shape {labels.shape})'
    if labels.max(initial=0) > MAX_LABEL:
        return f'holds label {int(labels.max())}, outside ADE20K\'s 0..{MAX_LABEL}'
    return None


def list_split_files(root):
    """(problems found by listing alone, (image, annotation) paths to decode, signature of the listing)."""
    problems, pairs, signature = [], [], hashlib.sha256(os.path.abspath(root).encode())
    for split in SPLITS:
        image_dir, label_dir = (os.path.join(root, kind, split) for kind in ('images', 'annotations'))
        missing = [d for d in (image_dir, label_dir) if not os.path.isdir(d)]
        if missing:
            problems += [f'{d}: directory missing' for d in missing]
            continue
        images, labels = _listing(image_dir, '.jpg'), _listing(label_dir, '.png')
        for stems in (images, labels):
            for stem, st in sorted(stems.items()):
                signature.update(f'{split}/{stem}:{st.st_size}:{st.st_mtime_ns};'.encode())
        if not images:
            problems.append(f'{image_dir}: no .jpg images (empty split)')
        problems += [f'{os.path.join(image_dir, s)}.jpg: no annotation {os.path.join(label_dir, s)}.png'
                     for s in sorted(images.keys() - labels.keys())]
        problems += [f'{os.path.join(label_dir, s)}.png: no image {os.path.join(image_dir, s)}.jpg'
                     for s in sorted(labels.keys() - images.keys())]
        pairs += [(os.path.join(image_dir, s + '.jpg'), os.path.join(label_dir, s + '.png'))
                  for s in sorted(images.keys() & labels.keys())]
    return problems, pairs, signature.hexdigest()


def check_ade(root, use_cache=True):
    """[] if `root` is a usable ADE20K directory, else the problems found (decodes every file once)."""
    problems, pairs, signature = list_split_files(root)
    cache = os.path.join(CACHE_DIR, signature + '.json')
    if use_cache and not problems and os.path.isfile(cache):
        return []
    for image, annotation in pairs:
        problems += [f'{path}: {wrong}' for path, wrong in
                     ((image, _decodes(image, check_labels=False)), (annotation, _decodes(annotation, check_labels=True)))
                     if wrong]
    if not problems:
        os.makedirs(CACHE_DIR, exist_ok=True)
        with open(cache, 'w') as f:
            json.dump({'root': os.path.abspath(root), 'passed': True}, f)
    return problems


def describe(root, problems):
    """One paragraph for people: what is wrong, where, and what to do."""
    shown = '; '.join(problems[:SHOWN]) + (f'; and {len(problems) - SHOWN} more' if len(problems) > SHOWN else '')
    return (f'The dataset at {root} has {len(problems)} problem(s): {shown}. Fix or remove those files '
            f'(a re-download of ADEChallengeData2016.zip restores the originals), then run: '
            f'python tools/check_ade.py {root}')


ADE20K_DOWNLOAD = ('mkdir -p data/ade && '
                   'wget http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip -P data/ade && '
                   'unzip -q data/ade/ADEChallengeData2016.zip -d data/ade')


def check_data_root(data_root, name):
    missing = [sub for sub in ('images/training', 'annotations/training', 'images/validation',
                               'annotations/validation') if not os.path.isdir(os.path.join(data_root, sub))]
    if missing:
        where = (f'{data_root} does not exist' if not os.path.isdir(data_root)
                 else f'{data_root} has no {", ".join(missing)}')
        raise UserError(
            f'ADE20K not found: {where}. '
            f'Download, unpack and check it with: make data  (by hand: {ADE20K_DOWNLOAD}; or point --data-root at your '
            f'ADEChallengeData2016 directory; to try the pipeline without it: python train_{name}.py --smoke)')


def check_data(data_root, name, generate_tiny=False):
    """The dataset is there and every file decodes with labels in range (cached once passed); with
    generate_tiny, a missing directory is filled with the generated tiny subset first."""
    if generate_tiny and not os.path.exists(data_root):
        from .tiny_ade import make_tiny_ade
        os.makedirs(os.path.dirname(os.path.abspath(data_root)), exist_ok=True)
        print(f'generated the tiny ADE subset in {make_tiny_ade(data_root)}', file=sys.stderr)
    check_data_root(data_root, name)
    problems = check_ade(data_root)
    if problems:
        raise UserError(describe(data_root, problems))
