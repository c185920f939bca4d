"""The checkpoints and logs of a run: finding them and reading them safely (how they are written:
checkpoint_format.py). Checkpoints written before the plain-type format still load from their own run's work dir
(trusting_own_checkpoint).
"""
import contextlib
import glob
import json
import os
import re
import sys
import zipfile

from .compat import trusting_own_checkpoint
from .errors import UserError

# ---- finding checkpoints ---------------------------------------------------------------------
def iter_of(path):
    """N of an iter_N.pth name, -1 for any other name."""
    match = re.search(r'iter_(\d+)\.pth$', path or '')
    return int(match.group(1)) if match else -1


def readable(path):
    """A torch checkpoint is a zip archive; a cut-off one has no valid central directory or CRCs."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def last_good_checkpoint(work_dir):
    """The checkpoint to continue from: MMEngine's pointer if it is sound, else the newest readable one."""
    pointer = os.path.join(work_dir, 'last_checkpoint')
    pointed = None
    if os.path.isfile(pointer):
        with open(pointer) as f:
            pointed = f.read().strip()
        if pointed and not os.path.isfile(pointed):  # the work dir was moved: look beside the pointer
            pointed = os.path.join(work_dir, os.path.basename(pointed))
        if pointed and os.path.isfile(pointed) and readable(pointed):
            return pointed
    candidates = sorted(glob.glob(os.path.join(work_dir, 'iter_*.pth')), key=iter_of, reverse=True)
    for candidate in candidates:
        if readable(candidate):
            if os.path.isfile(pointer):
                print(f'warning: {pointer} points at {pointed or "nothing"}, which is missing or unreadable; '
                      f'continuing from {candidate} instead', file=sys.stderr)
            return candidate
        print(f'warning: skipping unreadable checkpoint {candidate}', file=sys.stderr)
    return None


def best_checkpoint(work_dir):
    best = sorted(glob.glob(os.path.join(work_dir, 'best_mIoU_iter_*.pth')), key=iter_of)
    return best[-1] if best else None


def find_checkpoint(path):
    """A checkpoint file, or for a work dir its best-mIoU checkpoint (else its last one)."""
    if os.path.isdir(path):
        found = best_checkpoint(path) or last_good_checkpoint(path)
        if not found:
            raise UserError(f'{path} holds no checkpoint (best_mIoU_iter_*.pth or iter_*.pth).')
        return found
    if not os.path.isfile(path):
        raise UserError(f'Checkpoint not found: {path}.')
    return path


# ---- reading them ----------------------------------------------------------------------------
def checkpoint_trust(path):
    """A context in which torch.load may read `path`: the getattr-pickled objects of checkpoints written before
    plain types are trusted only for a run's own checkpoints (beside MMEngine's last_checkpoint pointer)."""
    own_run = os.path.isfile(os.path.join(os.path.dirname(os.path.abspath(path)), 'last_checkpoint'))
    return trusting_own_checkpoint() if own_run else contextlib.nullcontext()


def load_checkpoint_file(path, mmap=False):
    """The checkpoint at `path`, loaded with weights_only (mmap: tensors read lazily, for a look at its meta)."""
    import torch
    try:
        with checkpoint_trust(path):
            return torch.load(path, map_location='cpu', mmap=mmap)
    except Exception as error:
        pickled = re.search(r'Unsupported global: GLOBAL (\S+)', str(error))
        if pickled:
            raise UserError(
                f'{path} cannot be read as a checkpoint without trusting it: it pickles {pickled.group(1)}, which '
                f'is loaded only from a training run\'s own work dir (beside its last_checkpoint file). If this '
                f'is your own checkpoint, use it from its work dir; never do so for a file from elsewhere.') from error
        raise UserError(f'{path} cannot be read as a checkpoint ({type(error).__name__}: '
                        f'{str(error).splitlines()[0][:200]}).') from error


def recorded_config(checkpoint):
    """The config a checkpoint was trained with (MMEngine keeps its text in the meta), or None."""
    from mmengine.config import Config
    text = (checkpoint.get('meta') or {}).get('cfg')
    return Config.fromstring(text, '.py') if text else None


def read_scalars(work_dir):
    """Every record MMEngine logged to <work_dir>/<timestamp>/vis_data/scalars.json, oldest run first."""
    records = []
    for path in sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def shown(path):
    """`path` relative to the current directory when it lies below it, else as it is."""
    relative = os.path.relpath(path)
    return path if relative.startswith('..') else relative
