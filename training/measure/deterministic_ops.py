"""Which operations of each model's training step have no deterministic CUDA kernel: what `--deterministic` warns
about on a GPU (and what keeps a GPU run from being bit for bit the same without it), found on the CPU.

    python tools/deterministic_ops.py [model ...] [--markdown FILE]

One training step of the model at the smoke size (forward, loss, backward), under a TorchFunctionMode that sees
every torch function the step calls, matched with the list torch 2.14 documents in torch.use_deterministic_algorithms
("will throw a RuntimeError", each with its condition: on CUDA, when differentiated, in which mode). MMCV's compiled
CUDA kernels are not PyTorch's and not on that list: with MMCV_OPS=compiled, multi-scale deformable attention's
backward adds its gradients with atomicAdd (nondeterministic; mask2former).
"""
import argparse
import json
import sys

import torch
from torch.overrides import TorchFunctionMode

from ..experiments import all_names

RESAMPLING = ('linear', 'bilinear', 'bicubic', 'trilinear')


def _needs_grad(args, kwargs):
    tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor)]
    return any(t.requires_grad for t in tensors[:1])  # the input: the first tensor


def _argument(args, kwargs, name, position, default=None):
    return kwargs[name] if name in kwargs else args[position] if len(args) > position else default


def _reduced_over_a_map(args, kwargs):
    return args[0].dim() >= 3 and _argument(args, kwargs, 'reduction', 6, 'mean') != 'none'


# the torch function (by name, as TorchFunctionMode sees it) -> (the entry of torch's list, when it applies)
NONDETERMINISTIC_ON_CUDA = {
    'interpolate': ('F.interpolate backward, linear/bilinear/bicubic/trilinear',
                    lambda a, k: _needs_grad(a, k) and _argument(a, k, 'mode', 3, 'nearest') in RESAMPLING),
    'adaptive_avg_pool2d': ('AdaptiveAvgPool2d backward', _needs_grad),
    'adaptive_avg_pool3d': ('AdaptiveAvgPool3d backward', _needs_grad),
    'adaptive_max_pool2d': ('AdaptiveMaxPool2d backward', _needs_grad),
    'avg_pool3d': ('AvgPool3d backward', _needs_grad),
    'max_unpool1d': ('MaxUnpool1d', lambda a, k: True),
    'max_unpool2d': ('MaxUnpool2d', lambda a, k: True),
    'max_unpool3d': ('MaxUnpool3d', lambda a, k: True),
    'pad': ('ReflectionPad backward',
            lambda a, k: _needs_grad(a, k) and _argument(a, k, 'mode', 2, 'constant') == 'reflect'),
    # (the list says NLLLoss; torch's CUDA source alerts only for a reduced loss over a map: nll_loss2d with 'mean' or
    # 'sum'. MMSeg's and MMDet's cross-entropy losses call it with reduction='none' and reduce it themselves.)
    'cross_entropy': ('NLLLoss over a map, reduced (cross_entropy)', lambda a, k: _reduced_over_a_map(a, k)),
    'nll_loss': ('NLLLoss over a map, reduced', lambda a, k: _reduced_over_a_map(a, k)),
    'ctc_loss': ('CTCLoss backward', _needs_grad),
    'grid_sample': ('F.grid_sample backward', _needs_grad),
    'histc': ('torch.histc', lambda a, k: True),
    'bincount': ('torch.bincount with weights', lambda a, k: _argument(a, k, 'weights', 1) is not None),
    'median': ('torch.median with indices', lambda a, k: _argument(a, k, 'dim', 1) is not None),
    'put_': ('Tensor.put_', lambda a, k: True),
    'scatter_reduce': ('Tensor.scatter_reduce prod', lambda a, k: _argument(a, k, 'reduce', 3) == 'prod'),
    'embedding_bag': ('EmbeddingBag backward, mode max', lambda a, k: _argument(a, k, 'mode', 5) == 'max'),
}


class NondeterministicCalls(TorchFunctionMode):
    """Counts the calls of NONDETERMINISTIC_ON_CUDA's functions, under their conditions."""

    def __init__(self):
        super().__init__()
        self.found = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        entry = NONDETERMINISTIC_ON_CUDA.get(getattr(func, '__name__', ''))
        if entry and entry[1](args, kwargs):
            self.found[entry[0]] = self.found.get(entry[0], 0) + 1
        return func(*args, **kwargs)


def training_step_calls(model_name):
    """{list entry: calls} of one training step of `model_name` (smoke size, CPU, no pretrained weights)."""
    from mmengine.runner import Runner

    from ..run_config import build_config
    from ..experiments import load_script
    from ..project_runner import build_model
    script = load_script(model_name)
    cfg, _ = build_config(script.config, script.OFFICIAL, ['--smoke'])
    cfg.model.pretrained = None
    model = build_model(cfg)
    model.train()
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    mode = NondeterministicCalls()
    with mode:
        data = model.data_preprocessor(batch, True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    return mode.found


def markdown(rows):
    lines = ['# Operations without a deterministic CUDA kernel, per model', '',
             f'Written by `python tools/deterministic_ops.py --markdown docs/deterministic_ops.md` (torch '
             f'{torch.__version__}; one training step at the smoke size on the CPU, its torch calls matched with '
             'the list of torch.use_deterministic_algorithms). With `--deterministic` each of these warns once on a '
             'GPU and stays nondeterministic; without it, cuDNN and cuBLAS add their own nondeterminism. MMCV\'s '
             'compiled CUDA ops (MMCV_OPS=compiled) are not on PyTorch\'s list: multi-scale deformable attention\'s '
             'backward adds with atomicAdd (mask2former).', '',
             '| model | operations without a deterministic CUDA kernel (calls in one training step) |', '|---|---|']
    for model, found in rows.items():
        listed = '; '.join(f'{entry} ({calls})' for entry, calls in sorted(found.items())) if isinstance(found, dict) \
            else f'error: {found}'
        lines.append(f'| {model} | {listed or "none"} |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('models', nargs='*', help='default: all')
    parser.add_argument('--markdown', metavar='FILE', help='also write the table to FILE')
    args = parser.parse_args(argv)
    rows = {}
    for model in args.models or all_names():
        try:
            rows[model] = training_step_calls(model)
        except Exception as error:  # one model's failure is its row, the others still run
            rows[model] = f'{type(error).__name__}: {str(error).splitlines()[0][:200]}'
        print(json.dumps({model: rows[model]}), flush=True)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(markdown(rows))
    return 1 if any(not isinstance(found, dict) for found in rows.values()) else 0


if __name__ == '__main__':
    sys.exit(main())
