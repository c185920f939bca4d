"""What the pinned stack (torch 2.14, mmengine 0.10.7, mmcv 2.1.0, mmseg 1.2.2) needs to work together.

Imported by training/checkpoints.py, so by every entry point, before anything loads a checkpoint. Each fix says
why it exists; drop it when the stack it works around is upgraded.
"""
import contextlib
import functools
import warnings

import numpy as np
import torch

# mmengine/mmcv import pkg_resources, which setuptools < 82 keeps (mmcv's build needs it) but warns
# about on every start; harmless for this pinned stack, and noise above every log and error.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

# ---- Resuming on torch >= 2.6 -----------------------------------------------------------------
# (Checkpoints this project writes now keep MMEngine's run state in plain types (training/checkpoints.py) and
# need none of this; it lets runs written before that format resume, and evaluate from their own work dir.)
# torch.load defaults to weights_only=True since torch 2.6, and mmengine 0.10.7 calls it without
# weights_only (fixed only on mmengine's unreleased main), so resuming fails with "Weights only load
# failed". Instead of turning weights_only off (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 would trust every
# downloaded file too), we allow what an MMEngine checkpoint holds besides tensors:
# - everywhere: the message hub's HistoryBuffer and the numpy arrays/scalars it keeps (data only);
# - only while Runner.resume reads the run's own checkpoint: `getattr`, because a HistoryBuffer
#   pickles its statistics methods as getattr(buffer, 'min') & co. getattr on arbitrary objects is
#   how pickle exploits reach os.system, so no other file gets it.
NUMPY_TYPES = [np.ndarray, np.dtype, np._core.multiarray._reconstruct, np._core.multiarray.scalar] + [
    type(np.dtype(name)) for name in  # the dtype classes pickled with arrays (np.dtypes.Float64DType...)
    ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
     'float16', 'float32', 'float64')]


def allow_mmengine_data_types():
    from mmengine.logging import HistoryBuffer
    torch.serialization.add_safe_globals([HistoryBuffer, *NUMPY_TYPES])


@contextlib.contextmanager
def trusting_own_checkpoint():
    """Lets torch.load read a checkpoint MMEngine wrote for this run (its HistoryBuffers' methods)."""
    with torch.serialization.safe_globals([getattr]):
        yield


def resume_with_own_checkpoint_trust():
    from mmengine.runner import Runner
    if getattr(Runner.resume, 'trusts_own_checkpoint', False):
        return
    original = Runner.resume

    @functools.wraps(original)
    def resume(self, filename, *args, **kwargs):
        with trusting_own_checkpoint():
            return original(self, filename, *args, **kwargs)

    resume.trusts_own_checkpoint = True
    Runner.resume = resume


allow_mmengine_data_types()
resume_with_own_checkpoint_trust()
