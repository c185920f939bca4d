"""Run in the MMCV_OPS=compiled venv by tests/test_compiled_ops.py: PSAMask forward and backward through MMCV's
compiled CPU kernel and through the project's pure-PyTorch ops (training/mmcv_ext_pytorch.py) on the same inputs.

    python tests/psamask_vs_compiled.py BATCH H W H_MASK W_MASK PSA_TYPE    # prints one JSON line
"""
import json
import sys

import torch

import mmcv._ext as compiled
from training import mmcv_ext_pytorch as pytorch_ops


def compare(batch, h, w, h_mask, w_mask, psa_type):
    torch.manual_seed(0)
    mask = torch.randn(batch, h_mask * w_mask, h, w)
    grad = torch.randn(batch, h * w, h, w)
    sizes = dict(psa_type=psa_type, num_=batch, h_feature=h, w_feature=w, h_mask=h_mask, w_mask=w_mask,
                 half_h_mask=(h_mask - 1) // 2, half_w_mask=(w_mask - 1) // 2)
    results = []
    for ops in (compiled, pytorch_ops):
        out, grad_in = mask.new_zeros(batch, h * w, h, w), torch.zeros_like(mask)
        ops.psamask_forward(mask, out, **sizes)
        ops.psamask_backward(grad, grad_in, **sizes)
        results.append((out, grad_in))
    (out, grad_in), (ours, our_grad_in) = results
    return dict(compiled=compiled.__file__, forward_abs_sum=out.abs().sum().item(),
                forward_max_diff=(ours - out).abs().max().item(),
                backward_max_diff=(our_grad_in - grad_in).abs().max().item())


if __name__ == '__main__':
    print(json.dumps(compare(*map(int, sys.argv[1:7]))))
