"""What the pinned stack (torch 2.14, mmengine 0.10.7, mmcv 2.1.0, mmseg 1.2.2) needs to work together.

Imported by common.py before anything loads a checkpoint. Each fix says why it exists; drop it when
the stack it works around is upgraded.
"""
import torch


def allow_mmengine_checkpoint_types():
    """Resume on torch >= 2.6.

    torch.load defaults to weights_only=True since torch 2.6, and mmengine 0.10.7 calls it without
    weights_only (fixed only on mmengine's unreleased main), so resuming fails with "Weights only load
    failed". A checkpoint MMEngine writes holds, besides tensors and plain containers, its message
    hub's HistoryBuffer objects and the numpy arrays and scalars they keep. We allow exactly those
    types instead of turning weights_only off: any other pickled object, in any file, is still
    refused (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 would trust every downloaded file too).
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    numpy_types = [np.ndarray, np.dtype, np._core.multiarray._reconstruct, np._core.multiarray.scalar]
    # the dtype classes numpy pickles along with arrays and scalars (np.dtypes.Float64DType, ...)
    numpy_types += [type(np.dtype(name)) for name in
                    ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
                     'float16', 'float32', 'float64')]
    torch.serialization.add_safe_globals([HistoryBuffer, *numpy_types])


allow_mmengine_checkpoint_types()
