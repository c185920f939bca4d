"""MMCV's compiled ops that the models reach, made safe for AMP and channels-last, and checked before a CUDA run.

Three models reach compiled MMCV ops (the other models are plain PyTorch): psanet (PSAMask), mask2former
(multi-scale deformable attention, on CUDA) and maskformer (sigmoid focal loss, on CUDA through mmdet). Their
kernels know neither bfloat16 (none of them) nor float16 (PSAMask), and PSAMask reads its input as NCHW
whatever its strides: under --amp they fail, under --channels-last PSAMask raises on the CPU and computes
garbage on CUDA. run_in_fp32() makes each run in float32 on contiguous inputs (the autograd engine casts the
gradients back to the inputs' dtypes); speed is unchanged where the op already ran in float32.
"""
import functools

import torch

from .errors import UserError

COMPILED = 'MMCV_OPS=compiled make install'  # MMCV's own op library, built here (tools/install.sh)
PYTORCH = 'make install'                     # the default: the pure-PyTorch ops, no compiler


def _fp32_contiguous(value):
    if isinstance(value, torch.Tensor):
        value = value.contiguous()
        return value.float() if value.dtype in (torch.float16, torch.bfloat16) else value
    return value


def run_in_fp32(function_class):
    """Makes an autograd Function's forward take float32, contiguous tensors, with autocast off inside."""
    forward = function_class.forward
    if getattr(forward, 'runs_in_fp32', False):
        return function_class

    @functools.wraps(forward)
    def fp32_forward(ctx, *args, **kwargs):
        args = [_fp32_contiguous(a) for a in args]
        kwargs = {k: _fp32_contiguous(v) for k, v in kwargs.items()}
        with torch.autocast('cuda', enabled=False), torch.autocast('cpu', enabled=False):
            return forward(ctx, *args, **kwargs)

    fp32_forward.runs_in_fp32 = True
    function_class.forward = staticmethod(fp32_forward)
    return function_class


def compiled_op_functions():
    """{op name: MMCV autograd Function} of the compiled ops the models reach."""
    from mmcv.ops.focal_loss import SigmoidFocalLossFunction
    from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction
    from mmcv.ops.psa_mask import PSAMaskFunction
    return {'PSAMask': PSAMaskFunction, 'multi-scale deformable attention': MultiScaleDeformableAttnFunction,
            'sigmoid focal loss': SigmoidFocalLossFunction}


def make_ops_amp_safe():
    for function_class in compiled_op_functions().values():
        run_in_fp32(function_class)


def ops_kind():
    """What runs MMCV's ops here: 'pytorch' (the default install: training/mmcv_ext_pytorch.py as mmcv._ext),
    'compiled CUDA <version>' or 'compiled CPU' (MMCV's own op library, MMCV_OPS=compiled)."""
    from mmcv.utils import ext_loader
    ext = ext_loader.load_ext('_ext', ['get_compiling_cuda_version'])
    if getattr(ext, 'KIND', None) == 'pytorch':
        return 'pytorch'
    cuda = ext.get_compiling_cuda_version()
    return 'compiled CPU' if cuda == 'not available' else f'compiled CUDA {cuda}'


def ops_line():
    """The log line that says which ops a run uses, and how to get the other kind."""
    kind = ops_kind()
    if kind == 'pytorch':
        return ('MMCV ops: pure PyTorch (the default; only psanet, mask2former and maskformer call MMCV ops, and on a '
                f'GPU they run faster with MMCV\'s compiled ones: `{COMPILED}`)')
    return (f'MMCV ops: {kind} (MMCV\'s own op library, MMCV_OPS=compiled; the default pure-PyTorch ops, no '
            f'compiler: `{PYTORCH}`)')


# ---- before a CUDA run: does this build have the kernels the model needs? ------------------------
def ops_of(model):
    """The compiled MMCV ops `model` reaches on CUDA, by its modules."""
    from mmcv.ops import MultiScaleDeformableAttention, PSAMask
    used = set()
    for module in model.modules():
        if isinstance(module, PSAMask):
            used.add('PSAMask')
        elif isinstance(module, MultiScaleDeformableAttention) and not getattr(module, 'has_pytorch_fallback', False):
            used.add('multi-scale deformable attention')
        elif type(module).__name__ == 'FocalLoss' and getattr(module, 'use_sigmoid', False):
            used.add('sigmoid focal loss')
    return sorted(used)


def _tiny_inputs(op, device):
    if op == 'PSAMask':
        return (torch.rand(1, 9, 4, 4, device=device), 0, (3, 3))
    if op == 'multi-scale deformable attention':
        shapes = torch.tensor([[4, 4]], device=device)
        return (torch.rand(1, 16, 2, 8, device=device), shapes, torch.tensor([0], device=device),
                torch.rand(1, 5, 2, 1, 2, 2, device=device), torch.rand(1, 5, 2, 1, 2, device=device), 64)
    return (torch.rand(4, 3, device=device), torch.tensor([0, 1, 2, 0], device=device), 2.0, 0.25, None, 'mean')


def run_each_op_once(device='cuda', ops=None):
    """['<op>: <error>'] for each compiled op that does not run on `device` (tiny inputs, forward only)."""
    functions = compiled_op_functions()
    failed = []
    for op in ops or functions:
        try:
            functions[op].apply(*_tiny_inputs(op, device))
        except Exception as error:  # "implementation for device cuda:0 not found", "no kernel image"...
            failed.append(f'{op}: {str(error).splitlines()[0][:160]}')
    if device == 'cuda':
        torch.cuda.synchronize()
    return failed


def check_cuda_kernels(model, name):
    """Before the first CUDA step: every compiled op the model uses runs on this GPU, else one paragraph."""
    from mmcv.ops import get_compiling_cuda_version
    ops = ops_of(model)
    if not ops:
        return
    without_cuda = get_compiling_cuda_version() == 'not available' and ops_kind() != 'pytorch'
    missing = ([f'{op}: this MMCV was built without CUDA ops' for op in ops] if without_cuda
               else run_each_op_once('cuda', ops))
    if missing:
        raise UserError(
            f'{name} needs MMCV\'s compiled {" and ".join(ops)} on the GPU, and this MMCV build cannot run it '
            f'({"; ".join(missing)}). It was probably built on a machine without a GPU (CPU ops only) or for '
            f'another GPU generation. Rebuild it here: `rm -rf .venv && {COMPILED}` (it finds the GPU and a CUDA '
            f'compiler, from PyPI if needed); or, without any compiler, `{PYTORCH}` (the default pure-PyTorch ops, '
            f'slower on a GPU for this model).')
