"""Writes a tiny, deterministic dataset in ADE20K's layout, for tests and `--smoke` runs (command line:
tools/make_tiny_ade.py).

Layout and names as in ADEChallengeData2016: images/{training,validation}/ADE_{train,val}_0000000N.jpg
and annotations/.../*.png, labels 0..150 where 0 is "other" (ignored after MMSeg's reduce_zero_label).
Each image is a textured background of one class with a few shapes on it; a shape's colour says its
class, so a model that learns anything gets a clearly better mIoU than an untrained one.
"""
import os
import shutil

import numpy as np
from PIL import Image

DEFAULT_OUT = 'data/ade_tiny/ADEChallengeData2016'
NUM_TRAIN, NUM_VAL = 32, 8
# ADE20K label -> RGB colour of the shapes of that class (1 wall, 3 sky, 5 tree, 7 road, 13 person,
# 21 car, 43 column...). The background classes get a noisy texture of their colour.
BACKGROUND_CLASSES = {1: (120, 120, 120), 3: (90, 160, 230), 7: (110, 80, 60)}
SHAPE_CLASSES = {5: (30, 150, 40), 13: (220, 40, 40), 21: (240, 220, 30), 43: (200, 90, 220)}


def _draw_sample(rng):
    height, width = rng.integers(72, 113), rng.integers(96, 145)
    background = int(rng.choice(list(BACKGROUND_CLASSES)))
    label = np.full((height, width), background, np.uint8)
    image = np.empty((height, width, 3), np.float32)
    image[:] = BACKGROUND_CLASSES[background]
    image += rng.normal(0, 12, image.shape)  # texture

    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(rng.integers(2, 5)):
        cls = int(rng.choice(list(SHAPE_CLASSES)))
        cy, cx = rng.integers(0, height), rng.integers(0, width)
        ry, rx = rng.integers(8, height // 2), rng.integers(8, width // 2)
        if rng.random() < 0.5:
            mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            mask = (abs(yy - cy) <= ry) & (abs(xx - cx) <= rx)
        label[mask] = cls
        image[mask] = np.asarray(SHAPE_CLASSES[cls]) + rng.normal(0, 12, (int(mask.sum()), 3))
    # a strip of unlabelled pixels ("other", 0), as ADE has at object borders
    label[:, :2] = 0
    return np.clip(image, 0, 255).astype(np.uint8), label


def make_tiny_ade(out=DEFAULT_OUT, seed=0):
    """Writes the subset under `out` (an ADEChallengeData2016 directory) and returns `out`.

    It is written beside `out` and renamed into place, so a reader never sees half a dataset.
    """
    rng = np.random.default_rng(seed)
    partial = f'{out.rstrip("/")}.partial-{os.getpid()}'
    for split, prefix, count in (('training', 'train', NUM_TRAIN), ('validation', 'val', NUM_VAL)):
        os.makedirs(os.path.join(partial, 'images', split))
        os.makedirs(os.path.join(partial, 'annotations', split))
        for index in range(1, count + 1):
            image, label = _draw_sample(rng)
            name = f'ADE_{prefix}_{index:08d}'
            Image.fromarray(image).save(os.path.join(partial, 'images', split, name + '.jpg'), quality=95)
            Image.fromarray(label).save(os.path.join(partial, 'annotations', split, name + '.png'))
    try:
        os.rename(partial, out)
    except OSError:  # another process made it first, or `out` already exists
        shutil.rmtree(partial)
        if not os.path.isdir(out):
            raise
    return out
