"""The training protocol shared by every train_<model>.py: the one place its values live.

A script calls `train(__file__)`. That loads configs/<model>.py (which inherits the official MMSeg
recipe), applies the protocol below and the command line, checks the data and the pretrained
weights (pretrained.py), and runs MMEngine's Runner. Running the same command again continues from
the last good checkpoint in the work dir, quickly (resume.py); `--restart` starts over (the old work
dir is kept, renamed).
"""
import argparse
import contextlib
import copy
import datetime
import glob
import json
import os
import re
import sys

import compat  # (must come before MMEngine loads any checkpoint)
import pretrained
import resume
import speed

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))

# ---- the protocol ----------------------------------------------------------------------------
DATA_ROOT = 'data/ade/ADEChallengeData2016'
CROP_SIZE = (512, 512)
BATCH_SIZE_PER_GPU = 2
VAL_INTERVAL = 4000
CHECKPOINT_INTERVAL = 4000
KEEP_LAST_CHECKPOINTS = 3          # plus the best-mIoU one, which is kept apart
WORK_DIR = 'work_dirs/{model}_ade20k'
# iterations: the official recipe's own max_iters (80k or 160k), kept from configs/<model>.py

# ---- --smoke: a few iterations on the generated tiny subset, CPU-friendly --------------------
SMOKE_DATA_ROOT = 'data/ade_tiny/ADEChallengeData2016'
SMOKE_CROP_SIZE = (64, 64)
SMOKE_ITERS = 4
SMOKE_WORK_DIR = 'work_dirs/{model}_ade20k_smoke'

ADE20K_DOWNLOAD = ('mkdir -p data/ade && '
                   'wget http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip -P data/ade && '
                   'unzip -q data/ade/ADEChallengeData2016.zip -d data/ade')
# file name in pretrain/ -> where to download it (the original description's files first)
PRETRAINED_URLS = {
    'resnet50-11ad3fa6.pth': 'https://download.pytorch.org/models/resnet50-11ad3fa6.pth',
    'swin_base_patch4_window12_384_22k.pth':
        'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window12_384_22k.pth',
    'jx_vit_base_p16_384-83fb41ba.pth':
        'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-vitjx/jx_vit_base_p16_384-83fb41ba.pth',
    'mit_b0_20220624-7e0fe6dd.pth':
        'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth',
    'poolformer_s12_8xb256_in1k_20221230-a59e4e30.pth':
        'https://download.openmmlab.com/mmpretrain/v1.0/poolformer/poolformer_s12_8xb256_in1k_20221230-a59e4e30.pth',
    # the official recipes' own weights for the models none of the five files fits
    'hrnetv2_w18-00eb2006.pth': 'https://download.openmmlab.com/pretrain/third_party/hrnetv2_w18-00eb2006.pth',
    'mscan_t_20230227-119e8c9f.pth':
        'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segnext/mscan_t_20230227-119e8c9f.pth',
    'jx_vit_large_p16_384-b3be5167.pth':
        'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-vitjx/jx_vit_large_p16_384-b3be5167.pth',
    'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth':
        'https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth',
    'resnest101_d2-f3b931b2.pth': 'https://download.openmmlab.com/pretrain/third_party/resnest101_d2-f3b931b2.pth',
    'pcpvt_small_20220308-e638c41c.pth':
        'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/pcpvt_small_20220308-e638c41c.pth',
}


class UserError(Exception):
    """A problem the user can fix; printed as one paragraph without a traceback."""


def parse_args(model, argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description=f'Train {model} on ADE20K (configs/{model}.py). Run it again to continue '
                    'from the last checkpoint.')
    parser.add_argument('--work-dir', help=f'where checkpoints and logs go (default {WORK_DIR.format(model=model)})')
    parser.add_argument('--data-root', help=f'ADEChallengeData2016 directory (default {DATA_ROOT})')
    parser.add_argument('--iters', type=int, help="total training iterations (default: the official recipe's)")
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training (needs a CUDA GPU): bf16 where supported, else fp16')
    parser.add_argument('--compile', action='store_true', help='torch.compile the training step (slow first steps)')
    parser.add_argument('--channels-last', action='store_true', help='NHWC memory format for conv layers')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, metavar='KEY=VALUE',
                        help='override config keys, MMSeg syntax, e.g. optim_wrapper.optimizer.lr=0.02')
    parser.add_argument('--no-pretrain', action='store_true', help='train from randomly initialised weights')
    parser.add_argument('--pretrain', metavar='PATH',
                        help='another weight file of the same format as the one configs/<model>.py names')
    parser.add_argument('--check-pretrain', action='store_true',
                        help='build the model, load its pretrained weights, report how many tensors loaded, exit')
    parser.add_argument('--print-config', action='store_true', help='print the resolved config and exit')
    parser.add_argument('--smoke', action='store_true',
                        help=f'a few iterations on the tiny generated subset ({SMOKE_DATA_ROOT}), '
                             'small crop, no pretrained weights (unless --pretrain), then one validation')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help="scale the LR by (GPUs x batch per GPU) / the official recipe's total batch")
    parser.add_argument('--restart', action='store_true',
                        help='start over instead of continuing; the old work dir is kept, renamed')
    parser.add_argument('--debug', action='store_true', help='show full tracebacks on errors')
    return parser.parse_args(argv)


# ---- building the config ---------------------------------------------------------------------
def _walk_dicts(node):
    """Every dict inside a config node (dicts and lists, recursively), the node itself included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk_dicts(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk_dicts(value)


def _datasets(cfg):
    """The innermost dataset dicts of the train/val/test loaders (through RepeatDataset & co)."""
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        while 'dataset' in dataset:
            dataset = dataset.dataset
        yield dataset


def set_data_root(cfg, data_root):
    cfg.data_root = data_root  # a dead copy after loading, kept truthful for --print-config
    for dataset in _datasets(cfg):
        dataset.data_root = data_root


def first_data_root(cfg):
    return next(_datasets(cfg)).data_root


def _pipelines(cfg):
    for dataset in _datasets(cfg):
        yield dataset.pipeline


def set_crop_size(cfg, crop_size):
    crop_size = tuple(crop_size)
    cfg.crop_size = crop_size  # a dead copy after loading, kept truthful for --print-config
    for step in _walk_dicts(cfg.train_dataloader.dataset):
        if step.get('type') == 'RandomCrop':
            step.crop_size = crop_size
    cfg.model.data_preprocessor.size = crop_size
    if cfg.model.get('test_cfg', {}).get('mode') == 'slide':
        cfg.model.test_cfg.crop_size = crop_size


def scale_image_sizes(cfg, factor):
    """Shrinks every resize in the pipelines (and the sliding-window stride) by `factor`."""
    def scaled(value):
        if isinstance(value, (list, tuple)):
            return type(value)(scaled(v) for v in value)
        return max(1, int(round(value * factor))) if isinstance(value, (int, float)) else value

    for pipeline in _pipelines(cfg):
        for step in _walk_dicts(pipeline):
            for key in ('scale', 'scales', 'max_size', 'img_scale'):
                if key in step and step[key] is not None:
                    step[key] = scaled(step[key])
    if cfg.model.get('test_cfg', {}).get('mode') == 'slide':
        cfg.model.test_cfg.stride = scaled(cfg.model.test_cfg.stride)


def set_max_iters(cfg, iters):
    """Sets the schedule length and stretches the LR schedule with it (begin/end/milestones)."""
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = iters
    for scheduler in cfg.get('param_scheduler') or []:
        begin = int(round(scheduler.get('begin', 0) * iters / old))
        scheduler.begin = min(begin, iters - 1)
        if 'end' in scheduler:
            scheduler.end = max(int(round(scheduler.end * iters / old)), scheduler.begin + 1)
        if 'milestones' in scheduler:
            scheduler.milestones = [max(1, int(round(m * iters / old))) for m in scheduler.milestones]


def _pretrained_ref(model_cfg):
    """(dict, key) holding the backbone's pretrained file: model.pretrained or backbone.init_cfg."""
    if model_cfg.get('pretrained'):
        return model_cfg, 'pretrained'
    init_cfg = model_cfg.backbone.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        return init_cfg, 'checkpoint'
    return None


def drop_pretrained(model_cfg):
    model_cfg.pretrained = None
    if _pretrained_ref(model_cfg):
        model_cfg.backbone.init_cfg = None


def use_cpu_safe_optim_wrapper(cfg):
    """MMEngine's AmpOptimWrapper asserts a GPU; without one, train in fp32 with the same optimizer."""
    import torch
    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper' and not torch.cuda.is_available():
        cfg.optim_wrapper.type = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            cfg.optim_wrapper.pop(key, None)


def official_recipe(model):
    """What train_<model>.py's docstring states of the official recipe, the one place it is written:
    total_batch ('total batch 4 GPUs x 4 = 16') and miou ('mIoU 35.94 (single scale)'), None where not stated."""
    script = os.path.join(REPO_ROOT, f'train_{model}.py')
    text = ''
    if os.path.isfile(script):
        with open(script) as f:
            text = f.read()
    batch = re.search(r'total batch [^=]*= (\d+)', text)
    miou = re.search(r'mIoU ([\d.]+) \(single scale\)', text)
    return dict(total_batch=int(batch.group(1)) if batch else None, miou=float(miou.group(1)) if miou else None)


def read_scalars(work_dir):
    """Every record MMEngine logged to <work_dir>/<timestamp>/vis_data/scalars.json, oldest run first."""
    records = []
    for path in sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def build_config(model, args):
    """configs/<model>.py + the protocol + the command line, as an MMEngine Config."""
    from mmengine.config import Config
    config_file = os.path.join(REPO_ROOT, 'configs', f'{model}.py')
    if not os.path.isfile(config_file):
        raise UserError(f'{config_file} is missing: every train_<model>.py needs configs/<model>.py.')
    cfg = Config.fromfile(config_file)

    set_data_root(cfg, DATA_ROOT)
    set_crop_size(cfg, CROP_SIZE)
    cfg.train_dataloader.batch_size = BATCH_SIZE_PER_GPU
    cfg.train_cfg.type = 'FastResumeLoop'  # IterBasedTrainLoop that resumes in seconds (resume.py)
    cfg.train_cfg.val_interval = VAL_INTERVAL
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=CHECKPOINT_INTERVAL,
        max_keep_ckpts=KEEP_LAST_CHECKPOINTS, save_best='mIoU', rule='greater')
    cfg.work_dir = WORK_DIR.format(model=model)
    cfg.vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
    cfg.visualizer.vis_backends = copy.deepcopy(cfg.vis_backends)
    cfg.launcher = 'none'
    speed.apply(cfg, args)

    if args.smoke:
        set_data_root(cfg, SMOKE_DATA_ROOT)
        scale_image_sizes(cfg, SMOKE_CROP_SIZE[0] / CROP_SIZE[0])
        set_crop_size(cfg, SMOKE_CROP_SIZE)
        set_max_iters(cfg, args.iters or SMOKE_ITERS)
        cfg.work_dir = SMOKE_WORK_DIR.format(model=model)
        cfg.default_hooks.logger.interval = 1
        args.no_pretrain = args.no_pretrain or not args.pretrain  # an explicit --pretrain still loads
    if args.iters:
        set_max_iters(cfg, args.iters)
    # at least one validation and one checkpoint, also in runs shorter than the interval
    cfg.train_cfg.val_interval = min(cfg.train_cfg.val_interval, cfg.train_cfg.max_iters)
    cfg.default_hooks.checkpoint.interval = min(cfg.default_hooks.checkpoint.interval, cfg.train_cfg.max_iters)

    if args.auto_scale_lr:  # MMEngine multiplies the LR by the actual total batch / base_batch_size
        official_batch = official_recipe(model)['total_batch']
        if not official_batch:
            raise UserError(f'train_{model}.py does not state its official total batch; --auto-scale-lr needs it.')
        cfg.auto_scale_lr = dict(enable=True, base_batch_size=official_batch)
    if args.no_pretrain:
        drop_pretrained(cfg.model)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    cfg.merge_from_dict(args.cfg_options)
    return cfg


# ---- checks before a long run ----------------------------------------------------------------
def check_data_root(data_root, model):
    missing = [sub for sub in ('images/training', 'annotations/training', 'images/validation',
                               'annotations/validation') if not os.path.isdir(os.path.join(data_root, sub))]
    if missing:
        where = (f'{data_root} does not exist' if not os.path.isdir(data_root)
                 else f'{data_root} has no {", ".join(missing)}')
        raise UserError(
            f'ADE20K not found: {where}. '
            f'Download and unpack it with: {ADE20K_DOWNLOAD}  (or point --data-root at your '
            f'ADEChallengeData2016 directory; to try the pipeline without it: python train_{model}.py --smoke)')


def check_data(data_root, model, generate_tiny=False):
    """The dataset is there and every file decodes with labels in range (tools/check_ade.py, cached)."""
    from tools.check_ade import check_ade, describe
    if generate_tiny and not os.path.exists(data_root):
        from tools.make_tiny_ade import make_tiny_ade
        os.makedirs(os.path.dirname(os.path.abspath(data_root)), exist_ok=True)
        print(f'generated the tiny ADE subset in {make_tiny_ade(data_root)}', file=sys.stderr)
    check_data_root(data_root, model)
    problems = check_ade(data_root)
    if problems:
        raise UserError(describe(data_root, problems))


def prepare_pretrained(cfg, model, path=None):
    """Verifies (and converts, once) the backbone's weight file; points the config at the file to load.

    Returns what check_pretrained_loaded needs, or None when the model has no pretrained weights.
    """
    ref = _pretrained_ref(cfg.model)
    if ref is None:
        if path:
            raise UserError(f'--pretrain was given, but configs/{model}.py loads no pretrained backbone.')
        return None
    holder, key = ref
    named = holder[key]
    if '://' in named:
        raise UserError(
            f'configs/{model}.py loads pretrained weights from {named}, which cannot be fetched offline. '
            f'Download the file into pretrain/ and point the config at it, or use --no-pretrain.')
    url = PRETRAINED_URLS.get(os.path.basename(named))
    if path:
        how_to_get = f'Check the file given to --pretrain, or leave --pretrain out to use {named}.'
    else:
        how_to_get = (f'Download it with: wget {url} -P {os.path.dirname(named) or "."}/' if url else
                      f'Put the file at {named}.') + f'  (or train from scratch with: python train_{model}.py --no-pretrain)'
    path = path or named
    try:
        holder[key], state, not_in_file, unused_ok = pretrained.prepare(path, named, how_to_get)
    except pretrained.PretrainedError as error:
        raise UserError(str(error)) from error
    prefix = holder.get('prefix', '') if key == 'checkpoint' else ''
    return dict(path=path, loaded_from=holder[key], state=state, not_in_file=not_in_file, unused_ok=unused_ok,
                prefix=prefix)


def check_pretrained_loaded(backbone, source):
    """Logs `pretrained: loaded N/M backbone tensors from FILE`; anything not loaded, or left over, is an error."""
    loaded, expected, missing, unused = pretrained.count_loaded(
        backbone, source['state'], source['not_in_file'], source['unused_ok'], source['prefix'])
    via = f' (converted: {source["loaded_from"]})' if source['loaded_from'] != source['path'] else ''
    line = f'pretrained: loaded {loaded}/{expected} backbone tensors from {source["path"]}{via}'
    if missing or unused:
        def some(keys):
            return ', '.join(keys[:5]) + (' ...' if len(keys) > 5 else '')
        problems = ([f'not loaded: {some(missing)}'] if missing else []) + (
            [f'{len(unused)} tensors of the file unused: {some(unused)}'] if unused else [])
        raise UserError(f'{line}; {"; ".join(problems)}. {source["path"]} does not fit this backbone: is it the '
                        f'right file for this model (--pretrain takes a file of the same format)? '
                        f'Use --no-pretrain to train from scratch on purpose.')
    return line


# ---- resuming --------------------------------------------------------------------------------
def set_up_resume(cfg, restart):
    """Continue from the last checkpoint in the work dir, or (restart) move the old run aside."""
    from mmengine.dist import barrier, get_rank
    if restart and get_rank() == 0 and resume.last_good_checkpoint(cfg.work_dir):
        stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
        kept = f'{cfg.work_dir.rstrip("/")}_{stamp}'
        os.rename(cfg.work_dir, kept)
        print(f'--restart: the previous run is kept in {kept}', file=sys.stderr)
    barrier()  # every process decides after the move (a no-op in a single process)
    checkpoint = resume.last_good_checkpoint(cfg.work_dir)
    cfg.load_from = checkpoint
    cfg.resume = checkpoint is not None
    if checkpoint and get_rank() == 0:
        print(f'continuing from {checkpoint} (use --restart to start over)', file=sys.stderr)
    return checkpoint


def set_up_distributed(cfg):
    """torchrun (RANK/WORLD_SIZE) or Slurm's srun (SLURM_PROCID/SLURM_NTASKS): detected from the environment.

    The process group is started here, before the Runner: MMEngine 0.10.7's init_dist calls
    torch.cuda.set_device, which fails without a GPU, so CPU processes use gloo, DDP without device ids,
    and BatchNorm instead of SyncBN (which needs CUDA).
    """
    import torch
    from mmengine.dist import init_dist
    if int(os.environ.get('WORLD_SIZE', 1)) > 1 and 'RANK' in os.environ:
        cfg.launcher = 'pytorch'
    elif int(os.environ.get('SLURM_NTASKS', 1)) > 1 and 'SLURM_PROCID' in os.environ:
        cfg.launcher = 'slurm'
    else:
        return
    if torch.cuda.is_available():
        init_dist(cfg.launcher, **cfg.env_cfg.get('dist_cfg', {}))
        return
    if cfg.launcher == 'slurm':  # what torchrun would have set
        for ours, slurm in (('RANK', 'SLURM_PROCID'), ('WORLD_SIZE', 'SLURM_NTASKS'), ('LOCAL_RANK', 'SLURM_LOCALID')):
            os.environ.setdefault(ours, os.environ[slurm])
        if 'MASTER_ADDR' not in os.environ:
            raise UserError('Slurm without GPUs: set MASTER_ADDR (the first node\'s host name) and MASTER_PORT, e.g. '
                            'export MASTER_ADDR=$(scontrol show hostnames $SLURM_NODELIST | head -n1) MASTER_PORT=29500')
    torch.distributed.init_process_group('gloo')
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                                 find_unused_parameters=cfg.get('find_unused_parameters', False))
    for node in _walk_dicts(cfg.model):
        if node.get('type') == 'SyncBN':
            node.type = 'BN'


# ---- running ---------------------------------------------------------------------------------
def _shown(path):
    """`path` relative to the current directory when it lies below it, else as it is."""
    relative = os.path.relpath(path)
    return path if relative.startswith('..') else relative


def _final_report(cfg, metrics):
    best = sorted(glob.glob(os.path.join(cfg.work_dir, 'best_mIoU_iter_*.pth')), key=resume.iter_of)
    latest = resume.last_good_checkpoint(cfg.work_dir)
    print(f'mIoU: {metrics["mIoU"]:.2f} after {cfg.train_cfg.max_iters} iterations; '
          f'checkpoint: {_shown(latest)}' + (f'; best: {_shown(best[-1])}' if best else ''))


def build_model(cfg):
    """The model of `cfg`, built and initialised as the Runner would (pretrained weights loaded)."""
    from mmengine.utils import import_modules_from_strings
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def build_runner(cfg, source=None):
    """The MMEngine Runner of `cfg` with the project's run-time hooks: the pretrained-weights count before the
    first step (`source` from prepare_pretrained), the stop on a non-finite loss, the last validation's
    metrics (filled into the returned dict). tools/benchmark.py times this same Runner."""
    import torch
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner
    final_metrics = {}

    class ProtocolHooks(Hook):
        def before_train(self, runner):
            if source is not None:  # after init_weights, before the first step
                model_ = runner.model.module if is_model_wrapper(runner.model) else runner.model
                runner.logger.info(check_pretrained_loaded(model_.backbone, source))
                source.clear()  # the file's tensors are no longer needed

        def after_val_epoch(self, runner, metrics=None):
            final_metrics.clear()
            final_metrics.update(metrics or {})

    class StopOnNonFiniteLoss(Hook):
        """Runs before the checkpoint hook: a diverged model is never saved over a good checkpoint."""

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            loss = (outputs or {}).get('loss')
            if loss is not None and not torch.isfinite(loss).all():
                kept = resume.last_good_checkpoint(runner.work_dir)
                raise UserError(
                    f'The loss became {float(loss.detach())} at iteration {runner.iter + 1}: training stopped. '
                    + (f'The last good checkpoint, {kept}, is kept and a rerun continues from it. ' if kept else
                       'No checkpoint was written yet. ')
                    + 'Common causes: a learning rate too high for this batch size (try --cfg-options '
                    'optim_wrapper.optimizer.lr=<smaller>), or --amp overflow (try without --amp).')

    runner = Runner.from_cfg(cfg)
    runner.register_hook(StopOnNonFiniteLoss(), priority='VERY_HIGH')
    runner.register_hook(ProtocolHooks(), priority='LOWEST')
    return runner, final_metrics


def run(model, args):
    cfg = build_config(model, args)
    if args.print_config:
        print(cfg.pretty_text)
        return 0
    if args.check_pretrain:
        source = prepare_pretrained(cfg, model, args.pretrain)
        if source is None:
            print(f'{model}: configs/{model}.py loads no pretrained weights (trained from scratch)')
            return 0
        print(check_pretrained_loaded(build_model(cfg).backbone, source))
        return 0

    check_data(first_data_root(cfg), model, generate_tiny=args.smoke)
    use_cpu_safe_optim_wrapper(cfg)
    if args.amp and cfg.optim_wrapper.type != 'AmpOptimWrapper':
        raise UserError('--amp needs a CUDA GPU, and none is visible here (torch.cuda.is_available() is False). '
                        'Run without --amp.')
    set_up_distributed(cfg)
    checkpoint = set_up_resume(cfg, args.restart)
    done = resume.iter_of(checkpoint) if checkpoint else None
    if done is not None and done >= cfg.train_cfg.max_iters:
        print(f'{cfg.work_dir} is already trained to {done} iterations (max {cfg.train_cfg.max_iters}). '
              f'Use --iters to train longer or --restart to start over.', file=sys.stderr)
        return 0
    if checkpoint:
        drop_pretrained(cfg.model)  # the checkpoint overwrites the backbone anyway
    source = prepare_pretrained(cfg, model, args.pretrain)

    runner, final_metrics = build_runner(cfg, source)
    runner.train()
    if final_metrics and runner.rank == 0:
        _final_report(cfg, final_metrics)
    return 0


# ---- using trained checkpoints (evaluate.py, infer.py) -----------------------------------------
def find_checkpoint(path):
    """A checkpoint file, or for a work dir its best-mIoU checkpoint (else its last one)."""
    if os.path.isdir(path):
        best = sorted(glob.glob(os.path.join(path, 'best_mIoU_iter_*.pth')), key=resume.iter_of)
        found = best[-1] if best else resume.last_good_checkpoint(path)
        if not found:
            raise UserError(f'{path} holds no checkpoint (best_mIoU_iter_*.pth or iter_*.pth).')
        return found
    if not os.path.isfile(path):
        raise UserError(f'Checkpoint not found: {path}.')
    return path


def checkpoint_trust(path):
    """A context in which torch.load may read `path`: MMEngine's getattr-pickled objects are trusted only
    for a run's own checkpoints (a work dir with MMEngine's last_checkpoint pointer), never a downloaded file."""
    own_run = os.path.isfile(os.path.join(os.path.dirname(os.path.abspath(path)), 'last_checkpoint'))
    return compat.trusting_own_checkpoint() if own_run else contextlib.nullcontext()


def load_checkpoint_file(path):
    import torch
    try:
        with checkpoint_trust(path):
            return torch.load(path, map_location='cpu')
    except Exception as error:
        pickled = re.search(r'Unsupported global: GLOBAL (\S+)', str(error))
        if pickled:
            raise UserError(
                f'{path} cannot be read as a checkpoint without trusting it: it pickles {pickled.group(1)}, which '
                f'is loaded only from a training run\'s own work dir (beside its last_checkpoint file). If this '
                f'is your own checkpoint, use it from its work dir; never do so for a file from elsewhere.') from error
        raise UserError(f'{path} cannot be read as a checkpoint ({type(error).__name__}: '
                        f'{str(error).splitlines()[0][:200]}).') from error


def config_of_checkpoint(checkpoint, path, model=None):
    """The config a checkpoint was trained with (kept in its meta), or configs/<model>.py + the protocol."""
    from mmengine.config import Config
    if model:
        return build_config(model, parse_args(model, []))
    text = (checkpoint.get('meta') or {}).get('cfg')
    if not text:
        raise UserError(f'{path} does not record its config: name the model, e.g. --model fcn.')
    return Config.fromstring(text, '.py')


def model_of(script_path):
    """The model name of a train_<model>.py: the script's suffix."""
    return re.sub(r'^train_', '', os.path.splitext(os.path.basename(script_path))[0])


def all_models():
    """Every model of this collection: one per train_<model>.py, sorted."""
    return sorted(model_of(path) for path in glob.glob(os.path.join(REPO_ROOT, 'train_*.py')))


def exit_code(action, debug=False):
    """Runs action() for a command line tool: a UserError becomes one paragraph on stderr and exit code 2; the
    traceback only with --debug or ADE_SEG_DEBUG=1."""
    try:
        return action()
    except UserError as error:
        if debug or os.environ.get('ADE_SEG_DEBUG'):
            raise
        print(f'error: {error}', file=sys.stderr)
        return 2


def _run_explaining_oom(model, args):
    import torch
    try:
        return run(model, args)
    except torch.OutOfMemoryError as error:
        raise UserError(
            f'CUDA ran out of memory ({str(error).splitlines()[0][:160]}). Try --amp, or a smaller batch '
            f'(--cfg-options train_dataloader.batch_size=1), or fewer processes per GPU. Nothing was lost: '
            f'the same command continues from the last checkpoint.') from error


def train(script_path, argv=None):
    """Entry point of every train_<model>.py."""
    model = model_of(script_path)
    args = parse_args(model, argv)
    if args.no_pretrain and args.pretrain:
        raise SystemExit('error: --pretrain and --no-pretrain contradict each other: use one.')
    sys.exit(exit_code(lambda: _run_explaining_oom(model, args), args.debug))
