"""How a run's checkpoints are written: atomically, and in plain types that any tool can open.

- Atomically: MMEngine 0.10.7 writes a checkpoint in place, so a run killed mid-write leaves a truncated iter_N.pth.
  write_checkpoints_atomically() (called where the Runner is built) makes its file backend write beside the file and
  rename it into place: a reader, or a resume, never sees half a file.
- Plain types: MMEngine pickles its message hub's HistoryBuffers (numpy arrays and getattr(buffer, 'min') & co) into
  every checkpoint, which torch >= 2.6 refuses to load with weights_only=True: `mmseg.apis.init_model` and a plain
  `torch.load` fail on them. PlainCheckpoints writes that state in plain Python types and turns it back into
  HistoryBuffers when a run resumes.
"""
import os

import numpy as np
from mmengine.hooks import Hook

from . import compat

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


# ---- atomic writes -------------------------------------------------------------------------------
def _atomic_put(self, obj, filepath):
    """MMEngine's local file writer, but a reader never sees half a file: write beside it, then rename."""
    filepath = str(filepath)
    os.makedirs(os.path.dirname(filepath) or '.', exist_ok=True)
    partial = f'{filepath}.partial-{os.getpid()}'
    try:
        with open(partial, 'wb') as f:
            f.write(obj)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, filepath)
    except BaseException:  # a full disk, a signal: no half file stays behind (and the space is free again)
        if os.path.exists(partial):
            os.remove(partial)
        raise


def write_checkpoints_atomically():
    """Every checkpoint MMEngine writes to a local path from now on goes through _atomic_put (idempotent)."""
    compat.write_local_files_with(_atomic_put)
