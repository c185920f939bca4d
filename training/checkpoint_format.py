"""How a run's checkpoints are written: atomically, and in plain types that any tool can open.

- Atomically: MMEngine 0.10.7 writes a checkpoint in place, so a run killed mid-write leaves a truncated iter_N.pth.
  write_checkpoints_atomically() (called where the Runner is built) makes it write beside the file and rename it
  into place: a reader, or a resume, never sees half a file.
- Streamed: MMEngine serializes a checkpoint into memory, then writes those bytes: the checkpoint's size once more
  in host memory at each save. A local checkpoint is written as torch.save produces it instead (a 2.4 GB checkpoint,
  SETR's: +0.08 GB peak memory instead of +2.43 GB, 6.4 s instead of 9.1 s; docs/benchmarks.md).
- One write per new best: MMEngine writes the last checkpoint a second time at each new best, only to record the
  best's score and path in it. BestCheckpointOnce leaves that write out; a resumed run reads them from the newest best
  checkpoint, which records them itself.
- Plain types: MMEngine pickles its message hub's HistoryBuffers (numpy arrays and getattr(buffer, 'min') & co) into
  every checkpoint, which torch >= 2.6 refuses to load with weights_only=True: `mmseg.apis.init_model` and a plain
  `torch.load` fail on them. PlainCheckpoints writes that state in plain Python types and turns it back into
  HistoryBuffers when a run resumes.
"""
import glob
import os

import numpy as np
from mmengine.hooks import Hook

from . import compat
from .checkpoints import iter_of

HISTORY_BUFFER = '__mmengine_history_buffer__'


# ---- plain types -----------------------------------------------------------------------------
def to_plain_types(node):
    """`node` with MMEngine's HistoryBuffers and numpy values as plain dicts, lists and numbers (tensors kept)."""
    from mmengine.logging import HistoryBuffer
    if isinstance(node, HistoryBuffer):
        log_history, count_history = node.data
        return {HISTORY_BUFFER: True, 'log_history': log_history.tolist(), 'count_history': count_history.tolist(),
                'max_length': node.max_length}
    if isinstance(node, dict):
        return type(node)((key, to_plain_types(value)) for key, value in node.items())
    if isinstance(node, (list, tuple)):
        return type(node)(to_plain_types(value) for value in node)
    if isinstance(node, (np.ndarray, np.generic)):
        return node.tolist()
    return node


def from_plain_types(node):
    """The inverse of to_plain_types for the HistoryBuffers (what MessageHub.load_state_dict expects)."""
    from mmengine.logging import HistoryBuffer
    if isinstance(node, dict):
        if node.get(HISTORY_BUFFER):
            return HistoryBuffer(node['log_history'], node['count_history'], node['max_length'])
        return type(node)((key, from_plain_types(value)) for key, value in node.items())
    if isinstance(node, list):
        return [from_plain_types(value) for value in node]
    return node


class PlainCheckpoints(Hook):
    """Checkpoints in plain types (torch.load(weights_only=True) and mmseg.apis.init_model open them), turned
    back into MMEngine's objects when the run resumes."""

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint):
        for key in list(checkpoint):
            checkpoint[key] = to_plain_types(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint):
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_plain_types(checkpoint['message_hub'])


# ---- atomic, streamed writes ----------------------------------------------------------------------
def _atomic_write(filepath, write):
    """write(f) into a file beside `filepath`, then renamed into place: a reader never sees half a file."""
    filepath = str(filepath)
    os.makedirs(os.path.dirname(filepath) or '.', exist_ok=True)
    partial = f'{filepath}.partial-{os.getpid()}'
    try:
        with open(partial, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, filepath)
    except BaseException:  # a full disk, a signal: no half file stays behind (and the space is free again)
        if os.path.exists(partial):
            os.remove(partial)
        raise


def _atomic_put(self, obj, filepath):
    """MMEngine's local file writer (its LocalBackend.put), atomic."""
    _atomic_write(filepath, lambda f: f.write(obj))


class _WholeWrites:
    """A file for torch.save whose write() writes all it is given, and which keeps the OSError of a write that failed:
    torch.save does not pass a write's error on, it fails later with a RuntimeError about file positions."""

    def __init__(self, file):
        self.file, self.error = file, None

    def write(self, data):
        view = memoryview(data).cast('B')
        try:
            while view:
                view = view[os.write(self.file.fileno(), view):]
        except OSError as error:
            self.error = error
            raise
        return len(data)

    def flush(self):
        pass


def _torch_save(checkpoint, file):
    """torch.save(checkpoint, file), but a failed write (a full disk: ENOSPC, which faults.py explains) raises its own
    OSError."""
    import torch
    out = _WholeWrites(file)
    try:
        torch.save(checkpoint, out)
    except RuntimeError:
        if out.error is not None:
            raise out.error from None
        raise


def _save_checkpoint(checkpoint, filename, file_client_args=None, backend_args=None):
    """MMEngine's save_checkpoint, with a local file streamed by torch.save into place (atomically); other backends
    as MMEngine writes them."""
    from mmengine.fileio import get_file_backend
    from mmengine.fileio.backends import LocalBackend
    from mmengine.runner.checkpoint import save_checkpoint
    if file_client_args is None and isinstance(get_file_backend(filename, backend_args=backend_args), LocalBackend):
        _atomic_write(filename, lambda f: _torch_save(checkpoint, f))
    else:
        save_checkpoint(checkpoint, filename, file_client_args=file_client_args, backend_args=backend_args)


def write_checkpoints_atomically():
    """Every checkpoint the Runner writes from now on goes through _save_checkpoint, and every other local file
    MMEngine writes (the last_checkpoint pointer) through _atomic_put (idempotent)."""
    compat.write_local_files_with(_atomic_put)
    compat.save_checkpoints_with(_save_checkpoint)


# ---- one write per new best ----------------------------------------------------------------------
class BestCheckpointOnce(Hook):
    """MMEngine 0.10.7 writes the last checkpoint, optimizer included, a second time at every new best (vit_deit's:
    1.6 GB), only so that its message hub records the best's score and path for a resumed run. Here that second write
    is left out, and a resumed run takes the score and path from the newest best checkpoint, whose own message hub
    holds them. For the default checkpoint hook of an iteration-based run with one best metric (every script's); any
    other keeps MMEngine's writes."""

    priority = 'NORMAL'  # before_train: before the CheckpointHook (VERY_LOW) reads the best's score and path

    def __init__(self, checkpoint_hook):
        self.checkpoint_hook = checkpoint_hook

    @staticmethod
    def applies_to(hook):
        return (type(hook).__name__ == 'CheckpointHook' and hook.save_best is not None and not hook.by_epoch
                and hook.out_dir is None and len(hook.key_indicators) == 1)

    def before_run(self, runner):
        compat.save_best_without_rewriting_last(self.checkpoint_hook)

    def before_train(self, runner):
        hub = runner.message_hub
        recorded = hub.runtime_info.get('best_ckpt')
        newest = max((path for path in glob.glob(os.path.join(runner.work_dir, 'best_*_iter_*.pth'))
                      if iter_of(path) <= runner.iter), key=iter_of, default=None)
        if newest is None or iter_of(newest) <= iter_of(recorded):
            return  # no best yet, or the resumed checkpoint records this one
        import torch
        info = torch.load(newest, map_location='cpu', mmap=True, weights_only=True)['message_hub']['runtime_info']
        hub.update_info('best_score', info['best_score'])
        hub.update_info('best_ckpt', newest)
