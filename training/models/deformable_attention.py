"""Multi-scale deformable attention (Deformable DETR) as ViT-Adapter uses it: MMCV's module, its core always
in float32, on MMCV's CUDA kernel when this build has one and the pure-PyTorch version otherwise.

MMCV's MultiScaleDeformableAttention has the layers (sampling_offsets, attention_weights, value_proj with
value_proj_ratio, output_proj) and the Deformable-DETR initialisation ViT-Adapter uses, so this subclasses it;
its forward adds dropout and an identity and picks the CUDA Function for any CUDA tensor, whether or not the
build has the kernel. Here forward returns the attention alone (ViT-Adapter's injector scales it by a gamma
that starts at 0), takes batch-first tensors, and falls back to PyTorch on CPU or without the kernel
(saying so once). The core runs in float32 with autocast off, as the official code does: MMCV's kernel
would otherwise run in float16 under AMP and has no bfloat16 kernel at all.
"""
import functools
import warnings

import torch
from mmcv.ops.multi_scale_deform_attn import (MultiScaleDeformableAttention, MultiScaleDeformableAttnFunction,
                                              multi_scale_deformable_attn_pytorch)


@functools.lru_cache(maxsize=None)
def cuda_kernel_available():
    """Whether this MMCV build runs multi-scale deformable attention on the GPU."""
    from mmcv.ops import get_compiling_cuda_version
    if not torch.cuda.is_available() or get_compiling_cuda_version() == 'not available':
        return False
    try:
        shapes = torch.tensor([[2, 2]], device='cuda')
        MultiScaleDeformableAttnFunction.apply(
            torch.rand(1, 4, 1, 8, device='cuda'), shapes, torch.tensor([0], device='cuda'),
            torch.rand(1, 1, 1, 1, 1, 2, device='cuda'), torch.rand(1, 1, 1, 1, 1, device='cuda'), 64)
        return True
    except RuntimeError:
        return False


@functools.lru_cache(maxsize=None)
def _warn_fallback_once():
    warnings.warn('multi-scale deformable attention: this MMCV build has no CUDA kernel for it, so ViT-Adapter '
                  'runs its pure-PyTorch version on the GPU (correct, but slower and larger). Build MMCV with '
                  'CUDA ops for speed: MMCV_OPS=compiled make install')


def deformable_attention_core(value, spatial_shapes, level_start_index, sampling_locations, attention_weights,
                              im2col_step=64):
    """(batch, queries, heads x channels) in float32: MMCV's CUDA Function where it can run, else PyTorch."""
    value, sampling_locations, attention_weights = (
        t.float() for t in (value, sampling_locations, attention_weights))
    device_type = value.device.type
    with torch.autocast(device_type, enabled=False):
        if value.is_cuda and cuda_kernel_available():
            return MultiScaleDeformableAttnFunction.apply(
                value.contiguous(), spatial_shapes, level_start_index, sampling_locations.contiguous(),
                attention_weights.contiguous(), im2col_step)
        if value.is_cuda:
            _warn_fallback_once()
        return multi_scale_deformable_attn_pytorch(value, spatial_shapes, sampling_locations, attention_weights)


class DeformableAttention(MultiScaleDeformableAttention):
    """Batch-first multi-scale deformable attention without dropout or identity (see the module docstring)."""

    has_pytorch_fallback = True  # training.mmcv_ops: no CUDA-kernel check needed before a CUDA run

    def __init__(self, embed_dims, num_heads, num_levels, num_points, value_proj_ratio=1.0):
        super().__init__(embed_dims=embed_dims, num_heads=num_heads, num_levels=num_levels, num_points=num_points,
                         dropout=0.0, batch_first=True, value_proj_ratio=value_proj_ratio)
        del self.dropout  # not used: the callers add their own residuals

    def forward(self, query, reference_points, value, spatial_shapes, level_start_index):
        """query (B, Nq, C); reference_points (B or 1, Nq, 1 or levels, 2) in [0, 1] as (x, y); value (B, Nv, C)
        flattened over the levels of spatial_shapes ((levels, 2) as (h, w)). Returns (B, Nq, C)."""
        batch, num_queries, _ = query.shape
        value = self.value_proj(value).view(batch, value.shape[1], self.num_heads, -1)
        offsets = self.sampling_offsets(query).view(
            batch, num_queries, self.num_heads, self.num_levels, self.num_points, 2)
        weights = self.attention_weights(query).view(
            batch, num_queries, self.num_heads, self.num_levels * self.num_points).softmax(-1)
        weights = weights.view(batch, num_queries, self.num_heads, self.num_levels, self.num_points)
        # offsets are in pixels of each level: normalise by its (w, h)
        normaliser = torch.stack([spatial_shapes[..., 1], spatial_shapes[..., 0]], -1).to(offsets.dtype)
        locations = (reference_points[:, :, None, :, None, :]
                     + offsets / normaliser[None, None, None, :, None, :])
        output = deformable_attention_core(value, spatial_shapes, level_start_index, locations, weights,
                                           self.im2col_step)
        return self.output_proj(output.to(query.dtype))
