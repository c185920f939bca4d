"""What `make gpu-check` runs on a machine with an NVIDIA GPU (command line: tools/gpu_check.py).

1. environment: driver, torch and its CUDA, the GPU and its capability, bf16, TF32, which MMCV ops (the default
   pure-PyTorch ones, or MMCV_OPS=compiled's, with their CUDA version) and how to get the other kind;
2. MMCV's compiled ops the models reach (PSAMask, multi-scale deformable attention, sigmoid focal loss), forward
   and backward in float32 / float16 / bfloat16 autocast, contiguous and channels-last (or transposed) inputs,
   against a reference: MMCV's CPU kernel (PSAMask), MMCV's pure-PyTorch version (deformable attention), the
   formula (focal loss);
3. every model a few training steps at the protocol's 512x512, fp32 and --amp, ours and MMSeg's official config
   (tools/benchmark.py --vs-official): finite losses, ms/iter, peak memory, the ratio.
Results: docs/gpu_check/<part>.json, merged into docs/gpu_check.md, written after every result (a part cut short
keeps what it measured). --shard I/N runs every N-th model from the I-th (1-based), so each part ends within a
10-minute slot; --no-models, --no-ops and --models split the rest.
Without a GPU it says so and exits 0, writing nothing.
"""
import argparse
import glob
import json
import math
import os
import platform
import subprocess
import sys

import torch

from .. import mmcv_ops
from ..paths import REPO_ROOT
from ..experiments import all_names

OUT_DIR = os.path.join(REPO_ROOT, 'docs', 'gpu_check')
REPORT = os.path.join(REPO_ROOT, 'docs', 'gpu_check.md')
DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}
# The ops run in float32 under autocast (training/mmcv_ops.py): the forward must match the float32 reference
# on the same (rounded) inputs; the gradients reach the inputs through a cast to the autocast dtype, so they
# carry its rounding (relative to the largest gradient).
FORWARD_TOLERANCE = 1e-4
GRADIENT_TOLERANCE = {'float32': 1e-4, 'float16': 2e-3, 'bfloat16': 1.6e-2}
NO_GPU = ('gpu-check: no GPU is visible here (torch.cuda.is_available() is False): nothing to check, nothing '
          'written. Run `make gpu-check` on a machine with an NVIDIA GPU.')


def environment():
    from mmcv.ops import get_compiling_cuda_version

    from .. import cuda_env
    index = torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(index)
    return dict(gpu=torch.cuda.get_device_name(index), capability=f'{major}.{minor}',
                memory_gib=round(torch.cuda.get_device_properties(index).total_memory / 2 ** 30, 1),
                driver=cuda_env.driver_version(), torch=torch.__version__, torch_cuda=torch.version.cuda,
                cudnn=torch.backends.cudnn.version(), bf16=torch.cuda.is_bf16_supported(),
                tf32_matmul=torch.backends.cuda.matmul.allow_tf32, mmcv_cuda=get_compiling_cuda_version(),
                mmcv_ops=mmcv_ops.ops_kind(), mmcv_ops_line=mmcv_ops.ops_line(), python=platform.python_version())


# ---- the compiled ops --------------------------------------------------------------------------
def _psamask_case(layout):
    from mmcv.ops import PSAMask
    x = torch.randn(2, 9 * 9, 16, 16)
    op = PSAMask('collect', (9, 9))
    return [x], (lambda t: op(t)), (lambda t: op(t.cpu().float().contiguous())), layout


def _msda_case(layout):
    from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction
    shapes = torch.tensor([[16, 16], [8, 8]])
    starts = torch.tensor([0, 256])
    value = torch.randn(2, 320, 4, 32)
    locations = torch.rand(2, 50, 4, 2, 4, 2)
    weights = torch.rand(2, 50, 4, 2, 4).softmax(-1)

    def cuda(v, loc, w):
        return MultiScaleDeformableAttnFunction.apply(v, shapes.cuda(), starts.cuda(), loc, w, 64)
    return [value, locations, weights], cuda, _pytorch_deformable_attention(shapes), layout


def _pytorch_deformable_attention(shapes):
    """The reference of both deformable-attention rows: MMCV's pure-PyTorch version, in float32."""
    from mmcv.ops.multi_scale_deform_attn import multi_scale_deformable_attn_pytorch

    def reference(v, loc, w):
        return multi_scale_deformable_attn_pytorch(v.float(), shapes.cuda(), loc.float(), w.float())
    return reference


def _focal_case(layout):
    from mmcv.ops.focal_loss import SigmoidFocalLossFunction
    logits = torch.randn(64, 20)
    target = torch.randint(0, 20, (64,))

    def reference(x):
        p, onehot = x.float().sigmoid(), torch.nn.functional.one_hot(target.cuda(), 20).float()
        loss = -(0.25 * (1 - p) ** 2 * torch.log(p) * onehot + 0.75 * p ** 2 * torch.log(1 - p) * (1 - onehot))
        return loss.sum() / x.shape[0]
    return [logits], (lambda x: SigmoidFocalLossFunction.apply(x, target.cuda(), 2.0, 0.25, None, 'mean')), \
        reference, layout


def _vit_adapter_attention_case(layout):
    """ViT-Adapter's attention core (training/models) at the injector's shapes for 512x512 (ViT tokens at 1/16
    querying the spatial prior's 1/8, 1/16, 1/32 maps; 12 heads of 32 channels, 4 points): on MMCV's CUDA kernel
    against MMCV's pure-PyTorch version."""
    from ..models.deformable_attention import cuda_kernel_available, deformable_attention_core
    shapes = torch.tensor([[64, 64], [32, 32], [16, 16]])
    starts = torch.tensor([0, 4096, 5120])
    value = torch.randn(2, 5376, 12, 32)
    locations = torch.rand(2, 1024, 12, 3, 4, 2)
    weights = torch.rand(2, 1024, 12, 12).softmax(-1).view(2, 1024, 12, 3, 4)

    def ours(v, loc, w):
        if not cuda_kernel_available():  # the wrapper would fall back: PyTorch compared with itself
            raise RuntimeError('this MMCV build has no CUDA kernel for multi-scale deformable attention')
        return deformable_attention_core(v, shapes.cuda(), starts.cuda(), loc, w)
    return [value, locations, weights], ours, _pytorch_deformable_attention(shapes), layout


OPS = {'PSAMask': _psamask_case, 'multi-scale deformable attention': _msda_case,
       'sigmoid focal loss': _focal_case, 'ViT-Adapter deformable attention': _vit_adapter_attention_case}


def _arranged(tensor, layout):
    """On the GPU, as a float32 leaf: channels-last for 4-D inputs, otherwise a transposed (non-contiguous) copy."""
    tensor = tensor.cuda()
    if layout == 'channels_last' and tensor.dim() == 4:
        tensor = tensor.contiguous(memory_format=torch.channels_last)
    elif layout == 'channels_last':
        tensor = tensor.transpose(0, -1).contiguous().transpose(0, -1)
    return tensor.requires_grad_(tensor.is_floating_point())


def _relative_max_diff(ours, theirs):
    ours, theirs = ours.detach().float().cpu(), theirs.detach().float().cpu()
    return (ours - theirs).abs().max().item() / max(1.0, theirs.abs().max().item())


def check_op(op, dtype, layout):
    """Relative max difference of the forward and the input gradients against the reference, for one op, autocast
    dtype and input layout. The inputs reach the op in the autocast dtype, as they do from a layer under AMP."""
    mmcv_ops.make_ops_amp_safe()
    torch.manual_seed(0)
    inputs, run, reference, _ = OPS[op](layout)
    ours = [_arranged(t, layout) for t in inputs]
    theirs = [t.detach().to(DTYPES[dtype]).float().contiguous().requires_grad_(t.is_floating_point()) for t in ours]
    try:
        with torch.autocast('cuda', dtype=DTYPES[dtype], enabled=dtype != 'float32'):
            out = run(*[t.to(DTYPES[dtype]) if t.is_floating_point() else t for t in ours])
        expected = reference(*theirs)
        out.float().sum().backward()
        expected.float().sum().backward()
        torch.cuda.synchronize()
    except Exception as error:
        return dict(op=op, dtype=dtype, layout=layout, ok=False, error=f'{type(error).__name__}: {error}'[:300])
    forward = _relative_max_diff(out, expected)
    backward = max(_relative_max_diff(a.grad, b.grad) for a, b in zip(ours, theirs) if a.grad is not None)
    return dict(op=op, dtype=dtype, layout=layout, out_dtype=str(out.dtype).replace('torch.', ''),
                forward_max_diff=forward, backward_max_diff=backward,
                ok=forward <= FORWARD_TOLERANCE and backward <= GRADIENT_TOLERANCE[dtype])


def check_ops():
    return [check_op(op, dtype, layout) for op in OPS for dtype in DTYPES
            for layout in ('contiguous', 'channels_last')]


# ---- the models --------------------------------------------------------------------------------
def check_model(model, amp, iters, warmup):
    """tools/benchmark.py --vs-official at 512x512 on the tiny subset: both sides' figures and final losses."""
    command = [sys.executable, os.path.join(REPO_ROOT, 'tools', 'benchmark.py'), model, '--vs-official',
               '--iters', str(iters), '--warmup', str(warmup)] + (['--amp'] if amp else [])
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith('{')]
    row = json.loads(lines[-1]) if lines else dict(model=model, ours=dict(error=(result.stderr.strip().splitlines()
                                                                                 or ['no output'])[-1][:300]))
    ours = row.get('ours', {})
    row.update(precision='amp' if amp else 'fp32',
               ok='error' not in ours and math.isfinite(ours.get('final_loss', float('nan'))))
    return row


def shard_of(models, shard):
    index, count = (int(part) for part in shard.split('/'))
    return models[index - 1::count]


# ---- the report --------------------------------------------------------------------------------
def write_report():
    parts = [json.load(open(path)) for path in sorted(glob.glob(os.path.join(OUT_DIR, '*.json')))]
    lines = ['# GPU check', '', 'Written by `make gpu-check` (training/measure/gpu_check.py); raw results in '
             'docs/gpu_check/.', '']
    for part in parts:
        env = part['environment']
        lines += [f"## {part['part']}: {env['gpu']} (sm {env['capability']}, {env['memory_gib']} GiB)", '',
                  f"driver {env['driver']}, torch {env['torch']} (CUDA {env['torch_cuda']}, cuDNN {env['cudnn']}), "
                  f"MMCV ops {env.get('mmcv_ops', 'compiled')} (CUDA {env['mmcv_cuda']}), bf16 {env['bf16']}, "
                  f"TF32 matmul {env['tf32_matmul']}", '']
        lines += [env['mmcv_ops_line'], ''] if env.get('mmcv_ops_line') else []
        if part.get('ops'):
            lines += ['| op | autocast | layout | out dtype | max diff fwd | max diff grad | ok |', '|---' * 7 + '|']
            lines += [f"| {r['op']} | {r['dtype']} | {r['layout']} | {r.get('out_dtype', '')} | "
                      f"{r.get('forward_max_diff', r.get('error', ''))} | {r.get('backward_max_diff', '')} | "
                      f"{'yes' if r['ok'] else 'NO'} |" for r in part['ops']]
            lines.append('')
        if part.get('models'):
            lines += ['| model | precision | ms/iter | peak MB | final loss | official ms/iter | ratio | ok |',
                      '|---' * 8 + '|']
            for row in part['models']:
                ours, official = row.get('ours', {}), row.get('official', {})
                lines.append(f"| {row['model']} | {row['precision']} | {ours.get('ms_per_iter_median', ours.get('error', ''))}"
                             f" | {ours.get('peak_mem_mb', '')} | {ours.get('final_loss', '')} | "
                             f"{official.get('ms_per_iter_median', official.get('error', ''))} | "
                             f"{row.get('ratio', {}).get('ms_per_iter_median', '')} | {'yes' if row['ok'] else 'NO'} |")
            lines.append('')
    with open(REPORT, 'w') as f:
        f.write('\n'.join(lines))
    return REPORT


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shard', default='1/1', metavar='I/N', help='every N-th model from the I-th (default 1/1)')
    parser.add_argument('--models', nargs='*', help='these models only (default: all, or the shard\'s)')
    parser.add_argument('--no-ops', action='store_true', help='skip the compiled-op checks')
    parser.add_argument('--no-models', action='store_true', help='skip the model runs')
    parser.add_argument('--iters', type=int, default=5, help='timed steps per model and precision (default 5)')
    parser.add_argument('--warmup', type=int, default=3)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(NO_GPU)
        return 0
    part = (f'models-{"-".join(args.models)}' if args.models else f'shard-{args.shard.replace("/", "-of-")}') + (
        '-ops' if args.no_models else '')
    result = dict(part=part, environment=environment())
    print(json.dumps(result['environment']), flush=True)
    print(mmcv_ops.ops_line(), flush=True)  # which ops, and how to get the other kind

    def save():  # after every result: a part cut short by a time limit keeps what it measured
        os.makedirs(OUT_DIR, exist_ok=True)
        with open(os.path.join(OUT_DIR, f'{part}.json'), 'w') as f:
            json.dump(result, f, indent=1)
        return write_report()
    if not args.no_ops:
        result['ops'] = check_ops()
        for row in result['ops']:
            print(json.dumps(row), flush=True)
        save()
    if not args.no_models:
        result['models'] = []
        for model in args.models or shard_of(all_names(), args.shard):
            for amp in (False, True):
                result['models'].append(check_model(model, amp, args.iters, args.warmup))
                print(json.dumps(result['models'][-1]), flush=True)
                save()
    print(f'written: {save()}')
    failed = [r for r in result.get('ops', []) + result.get('models', []) if not r['ok']]
    return 1 if failed else 0
