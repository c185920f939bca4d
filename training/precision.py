"""The precision a run trains in: fp32, or with --amp mixed precision on whatever this machine has.

- GPU: MMEngine's AmpOptimWrapper, bf16 where the GPU supports it (fp32's range: no overflow), else fp16 with
  dynamic loss scaling.
- CPU: bf16 autocast (CpuAmpOptimWrapper below): PyTorch runs convolutions and matmuls in bf16 (AVX512-BF16/AMX where
  the CPU has them), the weights, gradients and optimizer state stay fp32, and bf16 needs no loss scaling. MMEngine's
  own AmpOptimWrapper asserts a CUDA device and uses CUDA's GradScaler, so the CPU gets this small wrapper instead.
A recipe that sets AmpOptimWrapper itself (PoolFormer) trains in fp32 on the CPU unless --amp asks for bf16.
Checkpoints hold fp32 weights either way: --amp is a speed switch, and a run continues with or without it.
"""
import contextlib

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from . import speed

@OPTIM_WRAPPERS.register_module(force=True)
class CpuAmpOptimWrapper(OptimWrapper):
    """OptimWrapper whose forward pass (and loss) run under the CPU's autocast in `dtype` (bf16); fp32 master
    weights, no loss scaling."""

    def __init__(self, *args, dtype='bfloat16', **kwargs):
        super().__init__(*args, **kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype

    @contextlib.contextmanager
    def optim_context(self, model):
        from mmengine.runner.amp import autocast
        with super().optim_context(model), autocast(device_type='cpu', dtype=self.cast_dtype):
            yield


def set_precision(cfg, amp):
    """The config's optimizer wrapper for this machine: --amp (`amp`) as above; without it, a recipe's
    AmpOptimWrapper becomes the same optimizer in fp32 where there is no GPU (MMEngine's needs one)."""
    wrapper = cfg.optim_wrapper
    cuda = torch.cuda.is_available()
    if amp and cuda:
        wrapper.type, wrapper.dtype = 'AmpOptimWrapper', speed.amp_dtype()
        wrapper.setdefault('loss_scale', 'dynamic')
    elif amp:
        wrapper.type, wrapper.dtype = CpuAmpOptimWrapper.__name__, 'bfloat16'
        for key in ('loss_scale', 'use_fsdp'):
            wrapper.pop(key, None)
    elif wrapper.get('type') == 'AmpOptimWrapper' and not cuda:
        wrapper.type = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            wrapper.pop(key, None)


@contextlib.contextmanager
def inference_precision(device, amp):
    """evaluate.py and infer.py with --amp (`amp`): inference under autocast on `device` ('cpu' or 'cuda'), bf16 on
    the CPU and where the GPU supports it, else fp16; without it, nothing changes."""
    if not amp:
        yield
        return
    from mmengine.runner.amp import autocast
    dtype = torch.bfloat16 if device == 'cpu' or speed.amp_dtype() == 'bfloat16' else torch.float16
    with autocast(device_type=device, dtype=dtype):
        yield


def precision_line(optim_wrapper_cfg):
    """The log line that says the precision a run trains in, and on which device type."""
    kind, dtype = optim_wrapper_cfg.get('type'), optim_wrapper_cfg.get('dtype')
    if kind == CpuAmpOptimWrapper.__name__:
        return f'precision: {dtype} autocast on the CPU (--amp; weights, gradients and optimizer state in float32)'
    if kind == 'AmpOptimWrapper':
        return f'precision: {dtype or "float16"} autocast on CUDA (AmpOptimWrapper: float32 weights, loss scaling)'
    return f'precision: float32 on {"CUDA" if torch.cuda.is_available() else "the CPU"} (--amp for mixed precision)'
