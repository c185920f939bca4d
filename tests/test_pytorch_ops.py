"""The pure-PyTorch `mmcv._ext` (training/mmcv_ext_pytorch.py), which the default install (MMCV_OPS=pytorch) puts in
MMCV's place: installed in this venv, it is what MMSeg and MMDet load; against MMCV's own references here, against
MMCV's compiled kernels in a second venv that has them (test_compiled_ops.py)."""
import glob
import os
import re
import subprocess
import sys

import pytest
import torch

from conftest import REPO
from training import mmcv_ext_pytorch as pytorch_ops

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture
def through_pytorch_ops(monkeypatch):
    """MMCV's own Python wrappers (their allocations, in-place calls and reductions) calling the PyTorch ops."""
    from mmcv.ops import focal_loss, multi_scale_deform_attn, psa_mask
    for module in (focal_loss, multi_scale_deform_attn, psa_mask):
        monkeypatch.setattr(module, 'ext_module', pytorch_ops)


# ---- PSAMask (against MMCV's compiled CPU kernel: test_compiled_ops.py, in a venv that has it) -----------------
def test_psamask_module_trains_through_the_pytorch_ops(through_pytorch_ops):
    from mmcv.ops import PSAMask
    torch.manual_seed(0)
    x = torch.randn(2, 81, 7, 6, requires_grad=True)
    out = PSAMask('collect', (9, 9))(x)
    (out * torch.randn_like(out)).sum().backward()
    assert out.shape == (2, 42, 7, 6) and x.grad.abs().sum() > 0


# ---- multi-scale deformable attention: MMCV 2.1.0 has no CPU kernel; its reference is MMCV's PyTorch version
MSDA_CASES = {  # levels (h, w), queries, heads, points, channels per head, locations spread beyond [0, 1]
    'two levels': ([(8, 8), (4, 4)], 10, 4, 4, 8, 1.0),
    'outside the map': ([(6, 5), (3, 3), (1, 1)], 7, 2, 3, 4, 1.6),
    'one pixel': ([(1, 1)], 3, 1, 1, 2, 1.0),
}


@pytest.mark.parametrize('case', MSDA_CASES)
def test_deformable_attention_equals_mmcvs_pytorch_version(case, through_pytorch_ops):
    from mmcv.ops.multi_scale_deform_attn import (MultiScaleDeformableAttnFunction,
                                                  multi_scale_deformable_attn_pytorch)
    levels, queries, heads, points, channels, spread = MSDA_CASES[case]
    torch.manual_seed(0)
    shapes = torch.tensor(levels)
    starts = torch.cat([torch.zeros(1, dtype=torch.long), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    keys = int((shapes[:, 0] * shapes[:, 1]).sum())
    value = torch.randn(2, keys, heads, channels, dtype=torch.float64)
    locations = (torch.rand(2, queries, heads, len(levels), points, 2, dtype=torch.float64) - 0.5) * spread + 0.5
    weights = torch.rand(2, queries, heads, len(levels), points, dtype=torch.float64).softmax(-1)
    grad = torch.randn(2, queries, heads * channels, dtype=torch.float64)

    def forward_backward(function):
        inputs = [t.clone().float().requires_grad_() for t in (value, locations, weights)]
        out = function(*inputs)
        out.backward(grad.float())
        return [out] + [t.grad for t in inputs]

    ours = forward_backward(lambda v, loc, w: MultiScaleDeformableAttnFunction.apply(v, shapes, starts, loc, w, 64))
    reference = forward_backward(lambda v, loc, w: multi_scale_deformable_attn_pytorch(v, shapes, loc, w))
    for mine, theirs in zip(ours, reference):
        torch.testing.assert_close(mine, theirs, **TOLERANCE)
    assert ours[2].abs().sum() > 0  # gradients reach the sampling locations


# ---- sigmoid focal loss: MMCV 2.1.0 has no CPU kernel; its reference is the formula (mmdet's PyTorch version)
def _reference_focal_loss(logits, target, gamma, alpha, class_weight, reduction):
    from mmdet.models.losses.focal_loss import py_sigmoid_focal_loss
    classes = logits.shape[1]
    one_hot = torch.nn.functional.one_hot(target, classes + 1)[:, :classes]  # target == classes: background
    loss = py_sigmoid_focal_loss(logits, one_hot, None, gamma, alpha, reduction='none')
    if class_weight is not None:
        loss = loss * class_weight[target][:, None]
    return {'none': loss, 'sum': loss.sum(), 'mean': loss.sum() / logits.shape[0]}[reduction]


@pytest.mark.parametrize('rows,classes,gamma,alpha,weighted,reduction', [
    (64, 20, 2.0, 0.25, False, 'mean'), (5, 3, 1.5, 0.5, True, 'sum'), (1, 1, 2.0, 0.25, False, 'none'),
    (8, 150, 0.0, 0.75, False, 'mean')])
def test_sigmoid_focal_loss_equals_the_formula(rows, classes, gamma, alpha, weighted, reduction,
                                               through_pytorch_ops):
    from mmcv.ops.focal_loss import SigmoidFocalLossFunction
    torch.manual_seed(0)
    logits = torch.randn(rows, classes, dtype=torch.float64) * 3
    target = torch.randint(0, classes + (0 if weighted else 1), (rows,))  # background rows where unweighted
    class_weight = torch.rand(classes, dtype=torch.float64) + 0.5 if weighted else None
    grad = torch.randn(rows, classes, dtype=torch.float64) if reduction == 'none' else torch.tensor(1.7)

    def forward_backward(function, dtype):
        x = logits.clone().to(dtype).requires_grad_()
        out = function(x)
        out.backward(grad.to(dtype))
        return out, x.grad

    weight = None if class_weight is None else class_weight.float()
    ours = forward_backward(lambda x: SigmoidFocalLossFunction.apply(x, target, gamma, alpha, weight, reduction),
                            torch.float32)
    reference = forward_backward(lambda x: _reference_focal_loss(x, target, gamma, alpha, class_weight, reduction),
                                 torch.float64)
    for mine, theirs in zip(ours, reference):
        torch.testing.assert_close(mine, theirs.float(), **TOLERANCE)


# ---- everything else MMCV asks for ----------------------------------------------------------------
def test_every_op_mmcv_loads_exists_and_the_compiled_only_ones_explain_themselves():
    import mmcv
    wanted = set()
    for path in glob.glob(os.path.join(os.path.dirname(mmcv.__file__), 'ops', '*.py')):
        text = open(path).read()
        for listed in re.findall(r"load_ext\(\s*'_ext',\s*\[(.*?)\]", text, re.DOTALL):
            wanted |= set(re.findall(r"'(\w+)'", listed))
    assert len(wanted) > 100 and {'psamask_forward', 'nms', 'roi_align_forward'} <= wanted
    assert all(callable(getattr(pytorch_ops, name, None)) for name in wanted), wanted - set(dir(pytorch_ops))
    with pytest.raises(pytorch_ops.CompiledOpMissing) as error:
        pytorch_ops.nms(torch.rand(3, 4), torch.rand(3), iou_threshold=0.5, offset=0)
    message = str(error.value)
    assert "MMCV's nms was called" in message and 'MMCV_OPS=compiled make install' in message
    assert pytorch_ops.get_compiling_cuda_version() == 'not available'
    assert 'pure-PyTorch' in pytorch_ops.get_compiler_version()


# ---- the default install ------------------------------------------------------------------------------------------
def test_the_default_install_puts_the_pytorch_ops_where_mmcv_loads_its_library():
    result = subprocess.run([sys.executable, '-c', 'import mmseg.models, mmcv, mmcv._ext\n'
                             'from training.mmcv_ops import ops_line\n'
                             'print(mmcv._ext.__file__, mmcv._ext.KIND, mmcv.__file__)\nprint(ops_line())'],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (path, kind, mmcv_init), ops_line = result.stdout.splitlines()[0].split(), result.stdout.splitlines()[1]
    assert kind == 'pytorch' and path == os.path.join(os.path.dirname(mmcv_init), '_ext.py')
    assert open(path).read() == open(os.path.join(REPO, 'training', 'mmcv_ext_pytorch.py')).read()
    assert ops_line.startswith('MMCV ops: pure PyTorch') and '`MMCV_OPS=compiled make install`' in ops_line


def test_an_op_without_a_pytorch_version_explains_itself_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, '-c', 'import torch\nfrom mmcv.ops import nms\n'
                             'nms(torch.rand(3, 4), torch.rand(3), 0.5)'], cwd=REPO, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "MMCV's nms was called" in message and 'MMCV_OPS=compiled make install' in message
