"""MMCV 2.1.0's op library `mmcv._ext` in pure PyTorch: the ops this collection's models call, and every other
name MMCV asks for as a stub that explains itself.

`make install` (MMCV_OPS=pytorch, the default) installs MMCV without compiled ops and copies this file into the
installed package as mmcv/_ext.py, so that every Python of the venv (MMSeg's own tools/test.py too) imports it where MMCV
imports its compiled library. It needs nothing but torch: keep it free of this project's imports.

MMCV's Python wrappers allocate the outputs and call these functions with MMCV's C++ signatures: the
functions below fill the tensors they are given in place (ms_deform_attn_forward returns its output), on any
device, in the input's dtype.
- psamask_forward / psamask_backward: PSANet's point-wise spatial attention mask (collect, distribute), the
  index arithmetic of MMCV's CPU kernel as one gather per call;
- ms_deform_attn_forward / ms_deform_attn_backward: MMCV's own multi_scale_deformable_attn_pytorch (bilinear
  grid_sample per level), with the backward from autograd;
- sigmoid_focal_loss_forward / sigmoid_focal_loss_backward: the formulas of MMCV's CUDA kernel;
- get_compiling_cuda_version / get_compiler_version: say what this module is ('not available': no CUDA kernels
  were compiled; the ops run on CUDA tensors all the same). KIND = 'pytorch' tells it from the compiled library.
"""
import functools

import torch
import torch.nn.functional as F

KIND = 'pytorch'  # the ops kind this module provides (the compiled library has no such name)
HOW_TO_COMPILE = ('For MMCV\'s compiled ops: `MMCV_OPS=compiled make install` in the ade20k-seg checkout, which '
                  'builds MMCV 2.1.0\'s op library from source with a C++ (and, on a GPU machine, a CUDA) compiler '
                  '(minutes; the wheel is cached).')


def get_compiling_cuda_version():
    return 'not available'  # (what MMCV's compiled CPU-only library says too: no CUDA kernels were compiled)


def get_compiler_version():
    return f'none: pure-PyTorch ops (MMCV_OPS=pytorch, the default), run by torch {torch.__version__}'


# ---- PSAMask ------------------------------------------------------------------------------------
COLLECT, DISTRIBUTE = 0, 1


@functools.lru_cache(maxsize=32)
def _psamask_indices(psa_type, h_feature, w_feature, h_mask, w_mask, half_h_mask, half_w_mask):
    """(mask positions, buffer positions) in the flattened (h_mask*w_mask*H*W) mask and (H*W*H*W) buffer of one
    image: for each feature position (h, w) and mask offset (i, j) that falls inside the feature map."""
    h, w, i, j = torch.meshgrid(torch.arange(h_feature), torch.arange(w_feature), torch.arange(h_mask),
                                torch.arange(w_mask), indexing='ij')
    target_h, target_w = i + h - half_h_mask, j + w - half_w_mask  # the feature position the offset points at
    inside = (target_h >= 0) & (target_h < h_feature) & (target_w >= 0) & (target_w < w_feature)
    h, w, i, j, target_h, target_w = (t[inside] for t in (h, w, i, j, target_h, target_w))
    area = h_feature * w_feature
    here, there = h * w_feature + w, target_h * w_feature + target_w
    mask_index = (i * w_mask + j) * area + here
    buffer_index = there * area + here if psa_type == COLLECT else here * area + there
    return mask_index, buffer_index


def _psamask(source, target, forward, psa_type, num_, h_feature, w_feature, h_mask, w_mask, half_h_mask,
             half_w_mask):
    mask_index, buffer_index = _psamask_indices(int(psa_type), h_feature, w_feature, h_mask, w_mask, half_h_mask,
                                                half_w_mask)
    mask_index, buffer_index = mask_index.to(source.device), buffer_index.to(source.device)
    read, write = (mask_index, buffer_index) if forward else (buffer_index, mask_index)
    flat = target.view(num_, -1)
    flat[:, write] = source.reshape(num_, -1)[:, read]


def psamask_forward(input, output, psa_type, num_, h_feature, w_feature, h_mask, w_mask, half_h_mask, half_w_mask):
    _psamask(input, output, True, psa_type, num_, h_feature, w_feature, h_mask, w_mask, half_h_mask, half_w_mask)


def psamask_backward(grad_output, grad_input, psa_type, num_, h_feature, w_feature, h_mask, w_mask, half_h_mask,
                     half_w_mask):
    _psamask(grad_output, grad_input, False, psa_type, num_, h_feature, w_feature, h_mask, w_mask, half_h_mask,
             half_w_mask)


# ---- multi-scale deformable attention -------------------------------------------------------------
def _ms_deform_attn(value, spatial_shapes, sampling_locations, attention_weights):
    """MMCV's multi_scale_deformable_attn_pytorch: (bs, keys, heads, dims) values sampled bilinearly at
    (bs, queries, heads, levels, points, 2) locations in [0, 1], weighted -> (bs, queries, heads * dims)."""
    bs, _, num_heads, dims = value.shape
    _, num_queries, _, num_levels, num_points, _ = sampling_locations.shape
    shapes = [(int(h), int(w)) for h, w in spatial_shapes.tolist()]
    values = value.split([h * w for h, w in shapes], dim=1)
    grids = 2 * sampling_locations - 1
    sampled = []
    for level, (h, w) in enumerate(shapes):
        level_value = values[level].flatten(2).transpose(1, 2).reshape(bs * num_heads, dims, h, w)
        level_grid = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)
        sampled.append(F.grid_sample(level_value, level_grid, mode='bilinear', padding_mode='zeros',
                                     align_corners=False))
    weights = attention_weights.transpose(1, 2).reshape(bs * num_heads, 1, num_queries, num_levels * num_points)
    output = (torch.stack(sampled, dim=-2).flatten(-2) * weights).sum(-1).view(bs, num_heads * dims, num_queries)
    return output.transpose(1, 2).contiguous()


def ms_deform_attn_forward(value, spatial_shapes, level_start_index, sampling_locations, attention_weights,
                           im2col_step):
    return _ms_deform_attn(value, spatial_shapes, sampling_locations, attention_weights)


def ms_deform_attn_backward(value, spatial_shapes, level_start_index, sampling_locations, attention_weights,
                            grad_output, grad_value, grad_sampling_loc, grad_attn_weight, im2col_step):
    with torch.enable_grad():
        inputs = [t.detach().requires_grad_() for t in (value, sampling_locations, attention_weights)]
        output = _ms_deform_attn(inputs[0], spatial_shapes, inputs[1], inputs[2])
        grads = torch.autograd.grad(output, inputs, grad_output)
    for target, grad in zip((grad_value, grad_sampling_loc, grad_attn_weight), grads):
        target.copy_(grad)


# ---- sigmoid focal loss ----------------------------------------------------------------------------
def _focal_terms(input, target, weight):
    """p = sigmoid(input), the (N, C) one-hot of target (a target of C, background, has none), the per-row class
    weight (1 where weight is empty)."""
    p = torch.sigmoid(input)
    classes = torch.arange(input.shape[1], device=input.device)
    positive = (target[:, None] == classes[None, :]).to(input.dtype)
    row_weight = weight[target.clamp(max=input.shape[1] - 1)][:, None] if weight.numel() else 1
    return p, positive, row_weight


def sigmoid_focal_loss_forward(input, target, weight, output, gamma, alpha):
    p, positive, row_weight = _focal_terms(input, target, weight)
    tiny = torch.finfo(input.dtype).tiny
    term_p = (1 - p) ** gamma * torch.log(p.clamp(min=tiny))
    term_n = p ** gamma * torch.log((1 - p).clamp(min=tiny))
    loss = -positive * alpha * term_p - (1 - positive) * (1 - alpha) * term_n
    output.copy_(loss * row_weight)


def sigmoid_focal_loss_backward(input, target, weight, grad_input, gamma, alpha):
    p, positive, row_weight = _focal_terms(input, target, weight)
    tiny = torch.finfo(input.dtype).tiny
    term_p = (1 - p) ** gamma * (1 - p - gamma * p * torch.log(p.clamp(min=tiny)))
    term_n = p ** gamma * (gamma * (1 - p) * torch.log((1 - p).clamp(min=tiny)) - p)
    grad = -positive * alpha * term_p - (1 - positive) * (1 - alpha) * term_n
    grad_input.copy_(grad * row_weight)


# ---- every other op MMCV 2.1.0's wrappers load (mmcv/ops/*.py: ext_loader.load_ext('_ext', [...])) ------
class CompiledOpMissing(RuntimeError):
    """An MMCV op was called that exists only in MMCV's compiled library."""


def _needs_compiled_ops(name):
    def missing(*args, **kwargs):
        raise CompiledOpMissing(
            f"MMCV's {name} was called, and this MMCV has pure-PyTorch ops (MMCV_OPS=pytorch, the default), "
            f"which provide only what this collection's models use: PSAMask, multi-scale deformable attention and "
            f"sigmoid focal loss. {HOW_TO_COMPILE}")
    missing.__name__ = missing.__qualname__ = name
    return missing


COMPILED_ONLY = (
    'active_rotated_filter_backward', 'active_rotated_filter_forward', 'assign_score_withk_backward',
    'assign_score_withk_forward', 'ball_query_forward', 'bbox_overlaps', 'bezier_align_backward',
    'bezier_align_forward', 'bias_act', 'border_align_backward', 'border_align_forward', 'box_iou_quadri',
    'box_iou_rotated', 'carafe_backward', 'carafe_forward', 'carafe_naive_backward', 'carafe_naive_forward',
    'chamfer_distance_backward', 'chamfer_distance_forward', 'contour_expand', 'convex_giou', 'convex_iou',
    'correlation_backward', 'correlation_forward', 'deform_conv_backward_input', 'deform_conv_backward_parameters',
    'deform_conv_forward', 'deform_roi_pool_backward', 'deform_roi_pool_forward',
    'diff_iou_rotated_sort_vertices_forward', 'dynamic_point_to_voxel_backward', 'dynamic_point_to_voxel_forward',
    'dynamic_voxelize_forward', 'filtered_lrelu', 'filtered_lrelu_act_', 'furthest_point_sampling_forward',
    'furthest_point_sampling_with_dist_forward', 'fused_bias_leakyrelu', 'fused_indice_conv_forward',
    'gather_points_backward', 'gather_points_forward', 'get_indice_pairs_2d_backward', 'get_indice_pairs_2d_forward',
    'get_indice_pairs_3d_backward', 'get_indice_pairs_3d_forward', 'get_indice_pairs_4d_forward',
    'group_points_backward', 'group_points_forward', 'hard_voxelize_forward', 'indice_conv_backward',
    'indice_conv_forward', 'indice_maxpool_backward', 'indice_maxpool_forward', 'iou3d_boxes_overlap_bev_forward',
    'iou3d_nms3d_forward', 'iou3d_nms3d_normal_forward', 'knn_forward', 'masked_col2im_forward',
    'masked_im2col_forward', 'min_area_polygons', 'modulated_deform_conv_backward', 'modulated_deform_conv_forward',
    'nms', 'nms_match', 'nms_quadri', 'nms_rotated', 'pixel_group', 'points_in_boxes_all_forward',
    'points_in_boxes_cpu_forward', 'points_in_boxes_part_forward', 'points_in_polygons_forward',
    'prroi_pool_backward', 'prroi_pool_coor_backward', 'prroi_pool_forward', 'riroi_align_rotated_backward',
    'riroi_align_rotated_forward', 'roi_align_backward', 'roi_align_forward', 'roi_align_rotated_backward',
    'roi_align_rotated_forward', 'roi_pool_backward', 'roi_pool_forward', 'roiaware_pool3d_backward',
    'roiaware_pool3d_forward', 'roipoint_pool3d_forward', 'rotated_feature_align_backward',
    'rotated_feature_align_forward', 'softmax_focal_loss_backward', 'softmax_focal_loss_forward', 'softnms',
    'stack_ball_query_forward', 'stack_group_points_backward', 'stack_group_points_forward', 'sync_bn_backward_data',
    'sync_bn_backward_param', 'sync_bn_forward_mean', 'sync_bn_forward_output', 'sync_bn_forward_var',
    'three_interpolate_backward', 'three_interpolate_forward', 'three_nn_forward', 'tin_shift_backward',
    'tin_shift_forward', 'upfirdn2d',
)
globals().update({name: _needs_compiled_ops(name) for name in COMPILED_ONLY})
