"""MMCV's compiled ops under AMP and channels-last, and the check that a CUDA run has their kernels."""
import pytest
import torch

from conftest import run_script
from training import mmcv_ops
from training.errors import UserError


def test_psanet_trains_with_channels_last(tiny_ade, tmp_path):
    result = run_script('psanet', '--smoke', '--iters', 2, '--channels-last', '--work-dir', tmp_path / 'w')
    assert result.returncode == 0, result.stderr[-3000:]


def test_psamask_on_a_channels_last_input_equals_the_contiguous_result():
    from mmcv.ops import PSAMask
    mmcv_ops.make_ops_amp_safe()
    x = torch.randn(2, 81, 12, 12)
    op = PSAMask('collect', (9, 9))
    torch.testing.assert_close(op(x.contiguous(memory_format=torch.channels_last)), op(x))


def test_psamask_runs_in_float32_under_bfloat16_autocast():
    from mmcv.ops import PSAMask
    mmcv_ops.make_ops_amp_safe()
    x = torch.randn(1, 9, 6, 6, requires_grad=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = PSAMask('distribute', (3, 3))(x.to(torch.bfloat16))
    assert out.dtype == torch.float32
    out.sum().backward()
    assert x.grad is not None and x.grad.dtype == torch.float32
    torch.testing.assert_close(out, PSAMask('distribute', (3, 3))(x.detach().to(torch.bfloat16).float()))


def test_every_wrapped_op_gets_float32_contiguous_tensors():
    class FakeOp(torch.autograd.Function):
        seen = []

        @staticmethod
        def forward(ctx, x, index, scale):
            FakeOp.seen.append((x.dtype, x.is_contiguous(), index.dtype, torch.is_autocast_enabled('cpu')))
            return x * scale

        @staticmethod
        def backward(ctx, grad):
            return grad, None, None

    mmcv_ops.run_in_fp32(FakeOp)
    mmcv_ops.run_in_fp32(FakeOp)  # idempotent
    x = torch.randn(4, 3, dtype=torch.bfloat16).t()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        FakeOp.apply(x, torch.arange(3), 2.0)
    assert FakeOp.seen == [(torch.float32, True, torch.int64, False)]
    assert set(mmcv_ops.compiled_op_functions()) == {'PSAMask', 'multi-scale deformable attention',
                                                     'sigmoid focal loss'}
    mmcv_ops.make_ops_amp_safe()
    assert all(f.forward.runs_in_fp32 for f in mmcv_ops.compiled_op_functions().values())


def _model(name):
    from training.project_runner import build_model
    from training.trained import experiment_config
    return build_model(experiment_config(name, ['--no-pretrain']))


@pytest.mark.parametrize('name,ops', [('psanet', ['PSAMask']), ('mask2former', ['multi-scale deformable attention']),
                                      ('maskformer', ['sigmoid focal loss']), ('fcn', []),
                                      ('vit_deit', [])])  # ViT-Adapter falls back to PyTorch without the kernel
def test_which_models_reach_compiled_ops(name, ops):
    assert mmcv_ops.ops_of(_model(name)) == ops


def test_a_missing_cuda_kernel_is_named_with_the_rebuild_command(monkeypatch):
    import mmcv.ops
    monkeypatch.setattr(mmcv.ops, 'get_compiling_cuda_version', lambda: 'not available')  # as MMCV built on a CPU
    monkeypatch.setattr(mmcv_ops, 'ops_kind', lambda: 'compiled CPU')  # (this venv may hold the pure-PyTorch ops)
    with pytest.raises(UserError) as error:
        mmcv_ops.check_cuda_kernels(_model('psanet'), 'psanet')
    message = str(error.value)
    assert 'PSAMask' in message and 'built without CUDA ops' in message
    assert 'rm -rf .venv && MMCV_OPS=compiled make install' in message and '`make install`' in message
    mmcv_ops.check_cuda_kernels(_model('fcn'), 'fcn')  # nothing to check: no error
