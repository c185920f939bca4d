"""--compile: torch.compile the model's tensor path in place, not MMEngine's train_step.

MMEngine's own `cfg.compile` wraps `train_step`, which takes lists of data samples and runs backward and the optimizer
inside: Dynamo guards on those objects, breaks the graph at backward() and recompiles every step (16x slower than eager
on the CPU, docs/benchmarks.md). Here only what is made of tensors is compiled, each part's `forward` in place (the
state_dict keys do not change, so checkpoints are those of an eager run):
- the backbone, the neck, the decode and auxiliary heads' forward, and the heads' per-pixel loss modules (MMSeg's
  loss_decode: log-softmax and cross-entropy over the 150 classes fuse);
- heads whose forward takes data samples (Mask2Former, MaskFormer): their tensor-only sub-modules (the pixel decoder,
  each transformer decoder layer); the Hungarian matcher, the losses and the data samples stay eager.
The data preprocessor, the resize of the logits to the labels, the accuracy and the optimizer step run eager. (Compiling
MMSeg's whole loss_by_feat was tried: on the CPU the compiled backward of the logits' bilinear resize is slower than
ATen's, and the accuracy's boolean mask breaks the graph.) Validation and inference run eager too (whole images
and sliding windows vary in size: compiling them would recompile per size).

Training shapes are fixed (the crop, the batch), so a part compiles once, at the first step. The recompile limit is one
graph per part (Dynamo counts per function: parts of one class share it). When an input changes anyway, the log says
which one in a paragraph, and a part past the limit runs eager from then on; training goes on.
"""
import inspect
import logging
import os
import shutil
import time

import torch
from mmengine.hooks import Hook

from . import compat
from .errors import UserError

PARTS = ('backbone', 'neck', 'decode_head', 'auxiliary_head')
# parts that do not compile, by class, and why (measured: `tools/benchmark.py all --compile-report`,
# docs/compile_report.md); a --compile run says so in one line and runs them eager
EAGER_PARTS = {}
# arguments that carry Python objects (data samples, image metas): a forward taking them is not compiled whole
SAMPLE_ARGUMENTS = {'batch_data_samples', 'data_samples', 'batch_img_metas', 'img_metas'}


def check_compiler():
    """torch.compile generates C++ (CPU) or Triton kernels, whose launchers a C/C++ compiler builds."""
    if not any(shutil.which(name) for name in (os.environ.get('CXX'), 'g++', 'c++', 'clang++') if name):
        raise UserError('--compile needs a C++ compiler: torch.compile builds the kernels it generates with one, and '
                        'none is on PATH (g++, c++, clang++, or $CXX). Install one (Debian/Ubuntu: apt-get install '
                        'g++) or train without --compile (the same model, eager).')


def takes_samples(function):
    try:
        return bool(SAMPLE_ARGUMENTS & set(inspect.signature(function).parameters))
    except (TypeError, ValueError):
        return True


def tensor_modules(head):
    """[(name, module)] of a head whose forward takes data samples: its sub-modules whose forward takes tensors
    only; a decoder made of layers gives its layers (Mask2Former's head calls them one by one)."""
    found = []
    for name, child in head.named_children():
        if name.startswith('loss') or not list(child.parameters()) or takes_samples(child.forward):
            continue  # (losses see matched masks: their shapes vary)
        layers = getattr(child, 'layers', None)
        if isinstance(layers, torch.nn.ModuleList):
            found += [(f'{name}.layers.{index}', layer) for index, layer in enumerate(layers)]
        elif not type(child).__module__.startswith('torch.'):  # one torch layer alone (a Linear, an Embedding whose
            # weight the head reads) has nothing to fuse
            found.append((name, child))
    return found


def compiled_parts(model):
    """[(name, module)] to compile: the parts of the segmentor, heads in ModuleLists one by one (OCRNet's cascade,
    several auxiliary heads), a head that takes data samples by its tensor-only sub-modules."""
    parts = []
    for part in PARTS:
        module = getattr(model, part, None)
        if module is None:
            continue
        items = (list((f'{part}.{index}', item) for index, item in enumerate(module))
                 if isinstance(module, torch.nn.ModuleList) else [(part, module)])
        for name, item in items:
            if takes_samples(item.forward):
                parts += [(f'{name}.{sub}', sub_module) for sub, sub_module in tensor_modules(item)]
            else:
                parts.append((name, item))
    return parts


def loss_modules(model):
    """[(name, module)] of the heads' per-pixel loss modules (MMSeg's loss_decode: cross-entropy, Lovasz, ...), which
    see the resized logits at the labels' size: fixed shapes."""
    found = []
    for name, module in model.named_modules():
        if name.rsplit('.', 1)[-1] == 'loss_decode':
            found += ([(f'{name}.{index}', item) for index, item in enumerate(module)]
                      if isinstance(module, torch.nn.ModuleList) else [(name, module)])
    return found


def compile_in_place(model, mode='default'):
    """Compiles each part's forward and each per-pixel loss module in place (an instance attribute: parameters, buffers
    and the state_dict keys stay as they are), but the EAGER_PARTS; returns (the names of what was compiled, a line
    for each part left eager)."""
    parts, eager = [], []
    for name, module in compiled_parts(model) + loss_modules(model):
        why = EAGER_PARTS.get(type(module).__name__)
        if why:
            eager.append(f'--compile: {name} ({type(module).__name__}) runs eager: {why}')
        else:
            parts.append((name, module))
    # Dynamo counts graphs per function: parts of one class (FCN's decode and auxiliary heads) share the count. The
    # limit is one graph per part of a class, the first step's: any later change of an input hits it
    functions = [type(module).forward for _, module in parts]
    compat.set_recompile_limit(max([functions.count(function) for function in functions] + [1]))
    compat.draw_random_numbers_as_eager()  # --seed means what it means eager (drop path, dropout, point sampling)
    for _, module in parts:
        module.forward = torch.compile(module.forward, mode=mode)
    return [name for name, _ in parts], eager


def compiled_line(names, mode):
    if not names:
        return '--compile: no part of this model compiles (the lines above say why): it trains eager.'
    return (f'--compile (mode {mode}): {", ".join(names)} compiled in place; the data preprocessor, the optimizer step '
            f'and validation run eager. The first step compiles (a minute or more on a CPU).')


class RecompileWatch(logging.Handler):
    """Catches Dynamo's messages that a compiled function is compiled again (an input changed) or hit the recompile
    limit; the hook turns them into a paragraph of the run's log."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith('Recompiling function') or 'hit config.recompile_limit' in message:
            self.messages.append(message)


def recompile_paragraph(message, iteration):
    """One paragraph from Dynamo's message: which function, which input changed."""
    lines = [line.strip() for line in message.splitlines()]
    if lines[0].startswith('Recompiling function'):
        function = lines[0][len('Recompiling function'):].strip()
        reason = next((line[2:] for line in lines if line.startswith('- ')), 'unknown')
        what = 'is compiled again'
    else:
        function = next((line.split(':', 1)[1].strip() for line in lines if line.startswith('function:')), '?')
        reason = next((line.split(':', 1)[1].strip() for line in lines if line.startswith('last reason:')), 'unknown')
        what = 'hit the recompile limit and runs eager from now on'
    return (f'--compile: at iteration {iteration}, {function} {what}: an input changed since the first step '
            f'({reason}). Training shapes are fixed by the crop and the batch size, so a changed input means a changed '
            f'pipeline or batch (e.g. a pipeline without RandomCrop/Pad, or a last smaller batch). Training goes on; '
            f'make the training inputs one size to keep the compiled graphs.')


class CompiledTraining(Hook):
    """A --compile run: the compile line before the first step, what the first step compiled (time, graphs, graph
    breaks) after it, a paragraph when a part recompiles, and validation eager (torch.compiler.set_stance)."""

    priority = 'LOWEST'

    def __init__(self, names, mode, eager=()):
        self.names, self.mode, self.eager = names, mode, list(eager)
        self.watch = RecompileWatch()
        self.started = self.counts_after_first_step = None

    def before_train(self, runner):
        for line in self.eager:
            runner.logger.warning(line)
        runner.logger.info(compiled_line(self.names, self.mode))
        logging.getLogger('torch._dynamo').addHandler(self.watch)

    def after_train(self, runner):
        logging.getLogger('torch._dynamo').removeHandler(self.watch)
        if self.counts_after_first_step is not None:
            runner.logger.info(f'--compile: {self.recompiles()} graphs compiled after the first step')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.started is None:
            self.started = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.counts_after_first_step is None:
            self.counts_after_first_step = compat.dynamo_counts()
            counts = self.counts_after_first_step
            runner.logger.info(
                f'--compile: the first step took {time.perf_counter() - self.started:.1f} s (compiling '
                f'{counts["graphs"]} graphs, {counts["graph_breaks"]} graph breaks'
                + (f'; the first: {counts["first_break"]}' if counts['first_break'] else '') + ')')
            self.watch.messages.clear()  # the first step compiles each part (parts of one class: a graph each)
            compat.log_recompiles()  # from now on, every recompile says why
        while self.watch.messages:
            runner.logger.warning(recompile_paragraph(self.watch.messages.pop(0), runner.iter + 1))

    def recompiles(self):
        """Graphs compiled after the first step."""
        if self.counts_after_first_step is None:
            return 0
        return compat.dynamo_counts()['graphs'] - self.counts_after_first_step['graphs']

    def before_val(self, runner):
        torch.compiler.set_stance('force_eager')

    def after_val(self, runner):
        torch.compiler.set_stance('default')

    before_test, after_test = before_val, after_val
