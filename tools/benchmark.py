#!/usr/bin/env python
"""Training speed of a train_<model>.py config, optionally against MMSeg's official tools/train.py path.

    python tools/benchmark.py fcn                        # one JSON line: ms/iter, data wait, memory, GFLOPs
    python tools/benchmark.py fcn --vs-official          # ours and official in the same run, ratio ours/official
    python tools/benchmark.py all --vs-official --markdown bench.md
    python tools/benchmark.py --data-pipeline            # images/s of the ADE20K train pipeline per worker

Ours is exactly the config train_<model>.py trains with (configs/<model>.py + common.py + the switches);
official is MMSeg's config as tools/train.py would run it, plus only the protocol overrides (data root,
batch 2 per GPU, crop, iterations). Both train the same data without pretrained weights (random init
costs the same), validation and checkpoints off, each in its own process (so peak memory is its own).
On a GPU the crop is the protocol's 512x512; on a CPU it defaults to 128x128 to keep a run short.
"""
import argparse
import glob
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
import common  # noqa: E402
import speed  # noqa: E402

MODELS = sorted(common.model_of(path) for path in glob.glob(os.path.join(REPO_ROOT, 'train_*.py')))
RATIO_KEYS = ('ms_per_iter_median', 'ms_per_iter_p90', 'data_wait_ms', 'images_per_s', 'peak_mem_mb')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('models', nargs='*', help=f'model names (train_<model>.py) or "all": {" ".join(MODELS)}')
    parser.add_argument('--iters', type=int, default=10, help='timed iterations (default 10)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed iterations first (default 3)')
    parser.add_argument('--crop', type=int, help='crop size (default 512 on a GPU, 128 on a CPU)')
    parser.add_argument('--data-root', default=common.SMOKE_DATA_ROOT,
                        help=f'ADE20K-format data (default the tiny subset {common.SMOKE_DATA_ROOT}, generated '
                             'if missing; the pipeline resizes every image to ADE scale anyway)')
    parser.add_argument('--amp', action='store_true', help='ours with --amp, official with tools/train.py --amp')
    parser.add_argument('--compile', action='store_true', help='ours with --compile')
    parser.add_argument('--channels-last', action='store_true', help='ours with --channels-last')
    parser.add_argument('--vs-official', action='store_true', help='also time the official path, print the ratio')
    parser.add_argument('--repeat', type=int, default=1,
                        help='run each side this many times, alternating ours/official, and keep the median run '
                             '(a CPU shared with other work drifts by several percent)')
    parser.add_argument('--markdown', metavar='FILE', help='also write the results as a Markdown table')
    parser.add_argument('--data-pipeline', action='store_true',
                        help='measure the ADE20K train pipeline (decode + augment) in one process instead')
    parser.add_argument('--side', choices=('ours', 'official'), help=argparse.SUPPRESS)  # internal: one child
    args = parser.parse_args(argv)
    if args.models == ['all']:
        args.models = MODELS
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        parser.error(f'unknown model(s) {", ".join(unknown)}; known: {" ".join(MODELS)}')
    if not args.models and not args.data_pipeline:
        parser.error('name a model (or "all"), or use --data-pipeline')
    return args


def crop_size(args):
    import torch
    return args.crop or (common.CROP_SIZE[0] if torch.cuda.is_available() else 128)


def official_base(model):
    """The official recipe configs/<model>.py inherits, or None where it only inherits MMSeg's _base_ parts
    (stdc: adapted from Cityscapes, no ADE20K recipe to compare with)."""
    with open(os.path.join(REPO_ROOT, 'configs', f'{model}.py')) as f:
        recipe = re.search(r"'(mmseg::(?!_base_/)[^']+)'", f.read())
    return recipe.group(1) if recipe else None


def our_config(model, args, iters):
    argv = ['--no-pretrain', '--data-root', args.data_root, '--iters', str(iters)]
    argv += [flag for flag, on in (('--amp', args.amp), ('--compile', args.compile),
                                   ('--channels-last', args.channels_last)) if on]
    return common.build_config(model, common.parse_args(model, argv))


def official_config(model, args, iters):
    """MMSeg's config + what `tools/train.py CONFIG [--amp] --cfg-options` would set for the protocol."""
    from mmengine.config import Config
    with tempfile.NamedTemporaryFile('w', suffix='.py', dir=os.path.join(REPO_ROOT, 'configs'),
                                     prefix='.official_', delete=False) as f:
        f.write(f"_base_ = '{official_base(model)}'\n")
    try:
        cfg = Config.fromfile(f.name)
    finally:
        os.remove(f.name)
    common.set_data_root(cfg, args.data_root)
    common.set_crop_size(cfg, common.CROP_SIZE)
    cfg.train_dataloader.batch_size = common.BATCH_SIZE_PER_GPU
    common.set_max_iters(cfg, iters)
    common.drop_pretrained(cfg.model)
    if args.amp:  # exactly what MMSeg's tools/train.py --amp does
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    return cfg


class StepTimer:
    """Wall time of each training iteration (data wait included) and the data wait alone."""

    def __init__(self, sync):
        self.sync, self.steps, self.waits, self._end = sync, [], [], None

    def hook(self):
        from mmengine.hooks import Hook
        timer = self

        class StepTimerHook(Hook):
            def before_train_iter(self, runner, batch_idx, data_batch=None):
                now = time.perf_counter()
                if timer._end is not None:
                    timer.waits.append(now - timer._end)

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                timer.sync()
                now = time.perf_counter()
                if timer._end is not None:
                    timer.steps.append(now - timer._end)
                timer._end = now

        return StepTimerHook()


def gflops_per_image(model, crop, device):
    """MMEngine's complexity counter on one crop (it counts a multiply-add as one FLOP), forward only."""
    import torch
    from mmengine.analysis import get_model_complexity_info
    model.eval()
    try:
        with torch.no_grad():
            info = get_model_complexity_info(model, inputs=(torch.rand(1, 3, crop, crop, device=device),),
                                             show_table=False, show_arch=False)
        return round(info['flops'] / 1e9, 2), None
    except Exception as error:  # e.g. MaskFormer heads need data samples in forward
        return None, f'{type(error).__name__}: {str(error).splitlines()[0][:120]}'


def measure(model, side, args):
    """One side, in this process: build the Runner, train warmup + iters, return the figures."""
    import mmcv
    import torch
    from mmengine.runner import Runner
    cuda = torch.cuda.is_available()
    crop = crop_size(args)
    iters = args.warmup + args.iters + 1  # the first step has no previous end to time from
    common.check_data(args.data_root, model, generate_tiny=args.data_root == common.SMOKE_DATA_ROOT)
    cfg = (our_config if side == 'ours' else official_config)(model, args, iters)
    common.use_cpu_safe_optim_wrapper(cfg)
    if crop != common.CROP_SIZE[0]:
        common.scale_image_sizes(cfg, crop / common.CROP_SIZE[0])
        common.set_crop_size(cfg, (crop, crop))
    # measurement only: no validation, no checkpoints, no log lines inside the timed steps
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 10 ** 9
    cfg.log_level = 'WARNING'
    work_dir = tempfile.mkdtemp(prefix=f'bench_{model}_{side}_')
    cfg.work_dir = work_dir

    timer = StepTimer(torch.cuda.synchronize if cuda else lambda: None)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(timer.hook(), priority='VERY_LOW')
    runner.train()
    steps = sorted(timer.steps[args.warmup:])
    waits = timer.waits[args.warmup:]
    median_s = statistics.median(steps)
    net = runner.model.module if hasattr(runner.model, 'module') else runner.model
    gflops, gflops_error = gflops_per_image(net, crop, 'cuda' if cuda else 'cpu')
    batch = cfg.train_dataloader.batch_size
    result = dict(
        model=model, side=side,
        device=torch.cuda.get_device_name() if cuda else f'CPU x{torch.get_num_threads()} threads',
        torch=torch.__version__, mmcv=mmcv.__version__, crop=crop, batch=batch, iters=len(steps),
        amp=args.amp, dtype=cfg.optim_wrapper.get('dtype') or ('float16' if 'Amp' in cfg.optim_wrapper.type
                                                                else 'float32'),
        compile=bool(cfg.get('compile')), channels_last=side == 'ours' and args.channels_last,
        workers=cfg.train_dataloader.num_workers,
        ms_per_iter_median=round(median_s * 1000, 1),
        ms_per_iter_p90=round(steps[min(len(steps) - 1, int(0.9 * len(steps)))] * 1000, 1),
        data_wait_ms=round(statistics.median(waits) * 1000, 2),
        images_per_s=round(batch / median_s, 2),
        peak_mem_mb=round(torch.cuda.max_memory_allocated() / 2 ** 20 if cuda
                          else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        peak_mem_kind='cuda max allocated' if cuda else 'process RSS',
        gflops_per_image=gflops,
        # forward + backward ~ 3 forwards, counted in multiply-adds like the GFLOPs
        tflops_achieved=round(3 * gflops * batch / median_s / 1000, 3) if gflops else None)
    if gflops_error:
        result['gflops_error'] = gflops_error
    shutil.rmtree(work_dir, ignore_errors=True)
    return result


def child_argv(args):
    """The options of this run that shape one side's measurement."""
    argv = ['--iters', args.iters, '--warmup', args.warmup, '--data-root', args.data_root]
    argv += ['--crop', args.crop] if args.crop else []
    argv += [flag for flag, on in (('--amp', args.amp), ('--compile', args.compile),
                                   ('--channels-last', args.channels_last)) if on]
    return [str(arg) for arg in argv]


def run_side(model, side, argv):
    """Runs one side in a child process (its own peak memory, no state shared with the other side)."""
    child = subprocess.run([sys.executable, os.path.abspath(__file__), model, '--side', side] + argv,
                           capture_output=True, text=True, cwd=REPO_ROOT)
    for line in child.stdout.splitlines():
        if line.startswith('{'):
            return json.loads(line)
    tail = (child.stderr.strip().splitlines() or ['no output'])[-1]
    return dict(model=model, side=side, error=f'exit {child.returncode}: {tail[:300]}')


def median_run(runs):
    """The run with the median step time (a real run, so its figures belong together), all medians beside it."""
    good = sorted((run for run in runs if 'error' not in run), key=lambda run: run['ms_per_iter_median'])
    if not good:
        return runs[0]
    chosen = dict(good[(len(good) - 1) // 2])
    if len(runs) > 1:
        chosen['ms_per_iter_median_of_each_run'] = [run.get('ms_per_iter_median') for run in runs]
    return chosen


def compare(model, args, argv):
    has_official = args.vs_official and official_base(model) is not None
    ours_runs, official_runs = [], []
    for _ in range(args.repeat):  # alternating, so a drifting machine affects both sides alike
        ours_runs.append(run_side(model, 'ours', argv))
        if has_official:
            official_runs.append(run_side(model, 'official', argv))
    ours = median_run(ours_runs)
    if not args.vs_official:
        return ours
    result = dict(model=model, ours=ours)
    if not has_official:
        result['official'] = dict(error='no official ADE20K config (adapted from Cityscapes)')
        return result
    official = result['official'] = median_run(official_runs)
    if 'error' not in ours and 'error' not in official:
        result['ratio'] = {key: round(ours[key] / official[key], 3) for key in RATIO_KEYS if official[key]}
    return result


def markdown(results):
    lines = ['| model | ms/iter (median) | p90 | data wait ms | images/s | peak MB | GFLOPs/img | TFLOP/s '
             '| official ms/iter | ratio ms/iter | ratio memory |', '|---' * 11 + '|']
    for result in results:
        ours = result.get('ours', result)
        official, ratio = result.get('official', {}), result.get('ratio', {})
        if 'error' in ours:
            lines.append(f"| {result['model']} | error: {ours['error']} |" + ' |' * 9)
            continue
        cells = [ours['model'], ours['ms_per_iter_median'], ours['ms_per_iter_p90'], ours['data_wait_ms'],
                 ours['images_per_s'], ours['peak_mem_mb'], ours['gflops_per_image'] or 'n/a',
                 ours['tflops_achieved'] or 'n/a', official.get('ms_per_iter_median', official.get('error', '')),
                 ratio.get('ms_per_iter_median', ''), ratio.get('peak_mem_mb', '')]
        lines.append('| ' + ' | '.join(str(cell) for cell in cells) + ' |')
    return '\n'.join(lines) + '\n'


def data_pipeline(args, samples=60):
    """Images/s of the train pipeline (decode, resize, crop, flip, photometric) in one process, as in one
    data loader worker (1 thread). On ADE-size images: the real data if present, else tiny-subset images
    enlarged to 683x512 (ADE20K's typical size)."""
    import cv2
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    root = common.DATA_ROOT if os.path.isdir(common.DATA_ROOT) else None
    if root is None:
        common.check_data(common.SMOKE_DATA_ROOT, 'fcn', generate_tiny=True)
        root = tempfile.mkdtemp(prefix='ade_size_')
        for kind, ext, interpolation in (('images', 'jpg', cv2.INTER_LINEAR), ('annotations', 'png', cv2.INTER_NEAREST)):
            os.makedirs(os.path.join(root, kind, 'training'))
            for path in glob.glob(os.path.join(common.SMOKE_DATA_ROOT, kind, 'training', f'*.{ext}')):
                image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
                cv2.imwrite(os.path.join(root, kind, 'training', os.path.basename(path)),
                            cv2.resize(image, (683, 512), interpolation=interpolation))
    cfg = our_config('fcn', args, 100)
    init_default_scope('mmseg')
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = root
    dataset = DATASETS.build(dataset_cfg)
    for index in range(3):  # warm-up
        dataset[index % len(dataset)]
    start = time.perf_counter()
    for index in range(samples):
        dataset[index % len(dataset)]
    per_worker = samples / (time.perf_counter() - start)
    return dict(benchmark='data pipeline', data=root if root == common.DATA_ROOT else 'tiny subset enlarged to 683x512',
                crop=list(common.CROP_SIZE), images_per_s_per_worker=round(per_worker, 1),
                default_workers=speed.loader_workers(),
                workers_for_batch2_at_100ms=int(np.ceil(common.BATCH_SIZE_PER_GPU / 0.1 / per_worker)),
                workers_for_batch2_at_50ms=int(np.ceil(common.BATCH_SIZE_PER_GPU / 0.05 / per_worker)))


def main(argv=None):
    args = parse_args(argv)
    if args.side:
        print(json.dumps(measure(args.models[0], args.side, args)))
        return 0
    if args.data_pipeline:
        print(json.dumps(data_pipeline(args)), flush=True)
    results = []
    for model in args.models:
        results.append(compare(model, args, child_argv(args)))
        print(json.dumps(results[-1]), flush=True)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(markdown(results))
    return 1 if any('error' in r.get('ours', r) for r in results) else 0


if __name__ == '__main__':
    sys.exit(main())
