"""Training speed of a train_<model>.py config, optionally against MMSeg's official tools/train.py path.

    python tools/benchmark.py fcn                        # one JSON line: ms/iter, data wait, memory, GFLOPs
    python tools/benchmark.py fcn --vs-official          # ours and official in the same run, ratio ours/official
    python tools/benchmark.py all --vs-official --markdown bench.md
    python tools/benchmark.py --data-pipeline            # images/s of the ADE20K train pipeline per worker
    python tools/benchmark.py --validation-report        # what the validation's panels and per-class IoU cost

Ours is exactly the config train_<model>.py trains with (its config() + the command-line switches);
official is MMSeg's config as tools/train.py would run it, plus only the protocol overrides (data root,
batch 2 per GPU, crop, iterations). Both train the same data without pretrained weights (random init
costs the same), validation and checkpoints off, each in its own process (so peak memory is its own).
On a GPU the crop is the protocol's 512x512; on a CPU it defaults to 128x128 to keep a run short.
"""
import argparse
import glob
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from .. import speed
from ..config import (crop_size_of, data_root_of, drop_pretrained, set_crop_size, set_data_root, set_schedule_length,
                     use_cpu_safe_optim_wrapper)
from ..data.dataset_check import check_data
from ..experiments import all_names, load_script, official_mmseg_config, official_of
from ..run_config import build_config
from ..hooks import unwrapped
from ..paths import REPO_ROOT
from ..project_runner import build_runner
from ..reproducibility import SeededSamples
from ..smoke import SMOKE_DATA_ROOT

MODELS = all_names()
COMMAND = os.path.join(REPO_ROOT, 'tools', 'benchmark.py')
CPU_CROP = 128
CHILD_TIMEOUT_S = 3600  # one measurement; a hung child becomes an error in the JSON
RATIO_KEYS = ('ms_per_iter_median', 'ms_per_iter_p90', 'data_wait_ms', 'images_per_s', 'peak_mem_mb')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('models', nargs='*', help=f'model names (train_<model>.py) or "all": {" ".join(MODELS)}')
    parser.add_argument('--iters', type=int, default=10, help='timed iterations (default 10)')
    parser.add_argument('--warmup', type=int, default=5, help='untimed iterations first (default 5; on a CPU the '
                        'first ~5 steps are slower)')
    parser.add_argument('--crop', type=int, help='crop size (default 512 on a GPU, 128 on a CPU)')
    parser.add_argument('--data-root', default=SMOKE_DATA_ROOT,
                        help=f'ADE20K-format data (default the tiny subset {SMOKE_DATA_ROOT}, generated '
                             'if missing; the pipeline resizes every image to ADE scale anyway)')
    parser.add_argument('--amp', action='store_true', help='ours with --amp, official with tools/train.py --amp')
    parser.add_argument('--compile', action='store_true', help='ours with --compile')
    parser.add_argument('--channels-last', action='store_true', help='ours with --channels-last')
    parser.add_argument('--vs-official', action='store_true', help='also time the official path, print the ratio')
    parser.add_argument('--repeat', type=int, default=1,
                        help='measure this many times and report the geometric mean of the ratios (a CPU shared '
                             'with other work drifts by several percent); with --paired, an even N balances which '
                             'side steps first')
    parser.add_argument('--markdown', metavar='FILE', help='also write the results as a Markdown table')
    parser.add_argument('--data-pipeline', action='store_true',
                        help='measure the ADE20K train pipeline (decode + augment) in one process instead')
    parser.add_argument('--validation-report', action='store_true',
                        help="time fcn's validation on ADE-size images with and without the prediction panels and "
                             'per-class IoU (training/visualization.py)')
    parser.add_argument('--paired', action='store_true',
                        help='with --vs-official: both sides in one process, one training step each in turn, so '
                             'both see the same machine state (the tightest ratio; no memory figures)')
    parser.add_argument('--side', metavar='SIDE[+SIDE...]',
                        help='one measurement in this process (what each child runs): ours, official, or sides '
                             'joined by + to train in turn; official+official measures the noise of the method')
    args = parser.parse_args(argv)
    if args.models == ['all']:
        args.models = MODELS
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        parser.error(f'unknown model(s) {", ".join(unknown)}; known: {" ".join(MODELS)}')
    if not args.models and not args.data_pipeline and not args.validation_report:
        parser.error('name a model (or "all"), or use --data-pipeline or --validation-report')
    return args


def crop_size(args, cfg):
    """The crop to time: --crop, else on a GPU the script's own (the protocol's 512), on a CPU 128."""
    import torch
    return args.crop or (crop_size_of(cfg)[0] if torch.cuda.is_available() else CPU_CROP)


def official_base(model):
    """The official MMSeg recipe of train_<model>.py (its OFFICIAL['config']), or None where MMSeg has none
    (vit_deit, sem_fpn: ported from their authors' code; stdc: adapted from Cityscapes)."""
    return official_mmseg_config(official_of(model))


def our_config(model, args, iters):
    argv = ['--no-pretrain', '--data-root', args.data_root, '--iters', str(iters)]
    argv += [flag for flag, on in (('--amp', args.amp), ('--compile', args.compile),
                                   ('--channels-last', args.channels_last)) if on]
    script = load_script(model)
    return build_config(script.config, script.OFFICIAL, argv)[0]


def official_config(model, args, iters):
    """MMSeg's config + what `tools/train.py CONFIG [--amp] --cfg-options` would set for the protocol (data root,
    the script's crop and batch per GPU, iterations). --amp in the same precision as ours: MMSeg's own --amp is
    float16, ours bfloat16 where the GPU has it, and a ratio between two precisions would say nothing."""
    from mmengine.config import Config
    with tempfile.NamedTemporaryFile('w', suffix='.py', dir=os.path.join(REPO_ROOT, 'configs'),
                                     prefix='.official_', delete=False) as f:
        f.write(f"_base_ = '{official_base(model)}'\n")
    try:
        cfg = Config.fromfile(f.name)
    finally:
        os.remove(f.name)
    script = load_script(model)
    set_data_root(cfg, args.data_root)
    set_crop_size(cfg, script.crop_size)
    cfg.train_dataloader.batch_size = script.batch_size
    set_schedule_length(cfg, iters)
    drop_pretrained(cfg.model)
    if args.amp:  # what MMSeg's tools/train.py --amp does, in our precision
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
        cfg.optim_wrapper.dtype = speed.amp_dtype()
    return cfg


class Turns:
    """Lets Runners in threads train one step at a time, in turn (ours, official, ours, ...): paired steps see
    the same machine state, so their ratio is free of the drift that separates two processes run one after
    the other. A side that finishes or fails drops out of the rotation."""

    def __init__(self, sides):
        self.sides, self.current, self.out = list(sides), 0, set()
        self.condition = threading.Condition()

    def wait(self, side):
        with self.condition:
            self.condition.wait_for(lambda: self.sides[self.current] == side)

    def _advance(self):
        for _ in self.sides:
            self.current = (self.current + 1) % len(self.sides)
            if self.sides[self.current] not in self.out:
                return

    def pass_on(self, side, finished=False):
        with self.condition:
            if finished:
                self.out.add(side)
            if self.sides[self.current] == side:
                self._advance()
            self.condition.notify_all()


class StepTimer:
    """Wall time of each training step, data loading included, and the data wait alone; with `turns`, timed
    from the moment this side's turn starts."""

    def __init__(self, sync, side=None, turns=None):
        self.sync, self.side, self.turns = sync, side, turns
        self.steps, self.waits, self._start = [], [], None

    def _begin(self):
        if self.turns:
            self.turns.wait(self.side)
        self._start = time.perf_counter()

    def hook(self):
        from mmengine.hooks import Hook
        timer = self

        class StepTimerHook(Hook):
            def before_train(self, runner):
                timer._begin()

            def before_train_iter(self, runner, batch_idx, data_batch=None):
                timer.waits.append(time.perf_counter() - timer._start)

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                timer.sync()
                timer.steps.append(time.perf_counter() - timer._start)
                if timer.turns:
                    timer.turns.pass_on(timer.side)
                timer._begin()

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


def prepare(model, side, args, turns=None, label=None):
    """One side's Runner (the project's, for ours) with its step timer; validation, checkpoints and log lines off."""
    import torch
    from mmengine.runner import Runner
    check_data(args.data_root, model, generate_tiny=args.data_root == SMOKE_DATA_ROOT)
    cfg = (our_config if side == 'ours' else official_config)(model, args, args.warmup + args.iters)
    use_cpu_safe_optim_wrapper(cfg)
    crop = crop_size(args, cfg)
    if (crop, crop) != crop_size_of(cfg):
        set_crop_size(cfg, (crop, crop))  # the resizes scale with it
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 10 ** 9
    cfg.log_level = 'WARNING'
    label = label or side
    cfg.work_dir = tempfile.mkdtemp(prefix=f'bench_{model}_{label}_')
    # two Runners in one process need their own MessageHub, logger and visualizer (MMEngine names them)
    cfg.experiment_name = cfg.visualizer.name = f'bench_{model}_{label}'
    timer = StepTimer(torch.cuda.synchronize if torch.cuda.is_available() else lambda: None, label, turns)
    runner = build_runner(cfg)[0] if side == 'ours' else Runner.from_cfg(cfg)
    runner.register_hook(timer.hook(), priority='VERY_LOW')
    return runner, timer


def figures(model, side, args, runner, timer, memory=True):
    """The JSON figures of one trained side (memory=False where another Runner shared the process)."""
    import mmcv
    import torch
    cuda = torch.cuda.is_available()
    cfg = runner.cfg
    crop = crop_size_of(cfg)[0]
    steps = sorted(timer.steps[args.warmup:])
    waits = timer.waits[args.warmup:]
    median_s = statistics.median(steps)
    net = unwrapped(runner.model)
    gflops, gflops_error = gflops_per_image(net, crop, 'cuda' if cuda else 'cpu')
    batch = cfg.train_dataloader.batch_size
    peak_mb = (torch.cuda.max_memory_allocated() / 2 ** 20 if cuda
               else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
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
        peak_mem_mb=round(peak_mb) if memory else None,
        peak_mem_kind=('cuda max allocated' if cuda else 'process RSS') if memory else 'n/a: sides share a process',
        gflops_per_image=gflops,
        final_loss=round(float(runner.message_hub.get_scalar('train/loss').current()), 4),
        # forward + backward ~ 3 forwards, counted in multiply-adds like the GFLOPs
        tflops_achieved=round(3 * gflops * batch / median_s / 1000, 3) if gflops else None)
    if gflops_error:
        result['gflops_error'] = gflops_error
    shutil.rmtree(cfg.work_dir, ignore_errors=True)
    return result


def measure(model, side, args):
    """One side alone in this process: train warmup + iters, return the figures."""
    runner, timer = prepare(model, side, args)
    runner.train()
    return figures(model, side, args, runner, timer)


def measure_paired(model, args, sides=('ours', 'official')):
    """The sides in this process, each Runner in a thread, one step each in turn (Turns). Step times only: the
    process's memory belongs to all sides. `sides` may repeat a side (an A/A check of the method's noise)."""
    labels = [f'{side}{index}' if sides.count(side) > 1 else side for index, side in enumerate(sides)]
    turns = Turns(labels)
    prepared = [prepare(model, side, args, turns, label) for side, label in zip(sides, labels)]
    errors = {}

    def train(label, runner):
        try:
            # Runner.train() builds and forks the loader workers in this thread: the other threads must be
            # parked meanwhile (a fork while another thread holds a lock can hang the worker), so even the
            # set-up before the first step waits for this side's turn
            turns.wait(label)
            runner.train()
        except BaseException as error:  # reported in the JSON; the other side goes on alone
            errors[label] = f'{type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ""}'
        finally:  # done or failed: out of the rotation
            turns.pass_on(label, finished=True)

    threads = [threading.Thread(target=train, args=(label, runner)) for label, (runner, _) in zip(labels, prepared)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results = {}
    for side, label, (runner, timer) in zip(sides, labels, prepared):
        if label in errors:
            results[label] = dict(model=model, side=side, error=errors[label])
            shutil.rmtree(runner.cfg.work_dir, ignore_errors=True)
        else:
            results[label] = figures(model, side, args, runner, timer, memory=False)
    return results


def child_argv(args):
    """The options of this run that shape one side's measurement."""
    argv = ['--iters', args.iters, '--warmup', args.warmup, '--data-root', args.data_root]
    argv += ['--crop', args.crop] if args.crop else []
    argv += [flag for flag, on in (('--amp', args.amp), ('--compile', args.compile),
                                   ('--channels-last', args.channels_last)) if on]
    return [str(arg) for arg in argv]


def run_side(model, side, argv):
    """One measurement (--side) in a child process: its own peak memory, no state shared with another."""
    try:
        child = subprocess.run([sys.executable, COMMAND, model, '--side', side] + argv,
                               capture_output=True, text=True, cwd=REPO_ROOT, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child = subprocess.CompletedProcess([], 'timeout', '', f'no result within {CHILD_TIMEOUT_S} s')
    for line in child.stdout.splitlines():
        if line.startswith('{'):
            return json.loads(line)
    tail = (child.stderr.strip().splitlines() or ['no output'])[-1]
    error = dict(model=model, side=side, error=f'exit {child.returncode}: {tail[:300]}')
    return {part: error for part in side.split('+')} if '+' in side else error


def median_run(runs):
    """The run with the median step time (a real run, so its figures belong together), all medians beside it."""
    good = sorted((run for run in runs if 'error' not in run), key=lambda run: run['ms_per_iter_median'])
    if not good:
        return runs[0]
    chosen = dict(good[(len(good) - 1) // 2])
    if len(runs) > 1:
        chosen['ms_per_iter_median_of_each_run'] = [run.get('ms_per_iter_median') for run in runs]
    return chosen


def ratios(ours, official):
    return {key: ours[key] / official[key] for key in RATIO_KEYS if official.get(key) and ours.get(key) is not None}


def combine(runs):
    """Several measurements of both sides: the geometric mean of each ratio, and the run whose step-time ratio
    is nearest to it (a real run, so its figures belong together)."""
    good = [run for run in runs if 'error' not in run['ours'] and 'error' not in run['official']]
    if not good:
        return dict(runs[0])
    each = [ratios(run['ours'], run['official']) for run in good]
    mean = {key: math.exp(statistics.fmean(math.log(ratio[key]) for ratio in each))
            for key in each[0] if all(key in ratio for ratio in each)}
    nearest = min(range(len(good)), key=lambda i: abs(math.log(each[i]['ms_per_iter_median'] /
                                                               mean['ms_per_iter_median'])))
    result = dict(good[nearest], ratio={key: round(value, 3) for key, value in mean.items()})
    if len(runs) > 1:
        result['ratio_ms_per_iter_of_each_run'] = [round(ratio['ms_per_iter_median'], 3) for ratio in each]
    return result


def compare(model, args, argv):
    if not args.vs_official:
        return median_run([run_side(model, 'ours', argv) for _ in range(args.repeat)])
    if official_base(model) is None:
        return dict(model=model, ours=median_run([run_side(model, 'ours', argv) for _ in range(args.repeat)]),
                    official=dict(error='no MMSeg config to compare with (a recipe from another repository, '
                                        'or adapted from another dataset)'))
    runs = []
    for index in range(args.repeat):
        if args.paired:  # crossover: the side that steps first swaps from run to run
            runs.append(run_side(model, 'ours+official' if index % 2 == 0 else 'official+ours', argv))
        else:  # separate processes, alternating, so a drifting machine affects both sides alike
            runs.append(dict(ours=run_side(model, 'ours', argv), official=run_side(model, 'official', argv)))
    return dict(model=model, method='paired steps' if args.paired else 'separate processes', **combine(runs))


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
                 ours['images_per_s'], ours['peak_mem_mb'] or 'n/a', ours['gflops_per_image'] or 'n/a',
                 ours['tflops_achieved'] or 'n/a', official.get('ms_per_iter_median', official.get('error', '')),
                 ratio.get('ms_per_iter_median', ''), ratio.get('peak_mem_mb', '')]
        lines.append('| ' + ' | '.join(str(cell) for cell in cells) + ' |')
    return '\n'.join(lines) + '\n'


def ade_size_data(protocol_root):
    """ADE20K itself where it is there, else the tiny subset's images and annotations enlarged to 683x512 (ADE20K's
    typical size) in a temporary folder of the same layout."""
    import cv2
    if os.path.isdir(protocol_root):
        return protocol_root
    check_data(SMOKE_DATA_ROOT, 'fcn', generate_tiny=True)
    root = tempfile.mkdtemp(prefix='ade_size_')
    for split in ('training', 'validation'):
        for kind, ext, interpolation in (('images', 'jpg', cv2.INTER_LINEAR), ('annotations', 'png', cv2.INTER_NEAREST)):
            os.makedirs(os.path.join(root, kind, split))
            for path in glob.glob(os.path.join(SMOKE_DATA_ROOT, kind, split, f'*.{ext}')):
                image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
                cv2.imwrite(os.path.join(root, kind, split, os.path.basename(path)),
                            cv2.resize(image, (683, 512), interpolation=interpolation))
    return root


def validation_report_cost(args):
    """What the validation report (visualization.py) adds to a validation of fcn (the protocol's test pipeline, whole
    images, randomly initialised weights) on ADE-size images: the seconds spent in its hook, timed around each of its
    calls, against the seconds of the rest of the validation, over `args.repeat` validations after a first one."""
    from ..visualization import ValidationReport
    root = ade_size_data(data_root_of(load_script('fcn').config()))
    cfg = our_config('fcn', args, 100)
    set_data_root(cfg, root)
    cfg.work_dir = tempfile.mkdtemp(prefix='validation_cost_')
    cfg.default_hooks.checkpoint.save_best = None  # (a validation alone has no checkpoint to keep)
    runner, _ = build_runner(cfg)
    report = next(hook for hook in runner.hooks if isinstance(hook, ValidationReport))
    spent = []
    for name in ('before_val_epoch', 'after_val_iter', 'after_val_epoch'):
        def timed(*a, method=getattr(report, name), **k):
            start = time.perf_counter()
            try:
                return method(*a, **k)
            finally:
                spent.append(time.perf_counter() - start)
        setattr(report, name, timed)
    runner.val()  # the first: start-up costs of both
    totals, in_report = [], []
    for _ in range(args.repeat):
        spent.clear()
        start = time.perf_counter()
        runner.val()
        totals.append(time.perf_counter() - start)
        in_report.append(sum(spent))
    shutil.rmtree(cfg.work_dir, ignore_errors=True)
    images = len(glob.glob(os.path.join(root, 'images', 'validation', '*.jpg')))
    rest = statistics.median(total - mine for total, mine in zip(totals, in_report))
    return dict(benchmark='validation report', model='fcn', images=images,
                validation_s=round(statistics.median(totals), 2), report_s=round(statistics.median(in_report), 3),
                report_ms_per_image=round(1000 * statistics.median(in_report) / images, 1),
                cost_percent=round(100 * statistics.median(in_report) / rest, 2))


def data_pipeline(args, samples=60):
    """Images/s of the train pipeline (decode, resize, crop, flip, photometric) in one process, as in one
    data loader worker (1 thread), as training draws them (each sample's augmentation seeded by its position:
    reproducibility.SeededSamples) and without that seeding, alternating rounds of the two. On ADE-size images: the
    real data if present, else tiny-subset images enlarged to 683x512 (ADE20K's typical size)."""
    import cv2
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    protocol_root = data_root_of(load_script('fcn').config())
    root = ade_size_data(protocol_root)
    cfg = our_config('fcn', args, 100)
    init_default_scope('mmseg')
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = root
    dataset = DATASETS.build(dataset_cfg)
    seeded = SeededSamples(dataset, seed=0)
    for index in range(3):  # warm-up
        dataset[index % len(dataset)]
    seconds = {'plain': 0.0, 'seeded': 0.0}
    for round_ in range(args.repeat * 2):  # alternating, so a drifting machine affects both alike
        kind = ('plain', 'seeded')[round_ % 2]
        start = time.perf_counter()
        for index in range(samples):
            position = round_ * samples + index
            key = (position, position % len(dataset)) if kind == 'seeded' else position % len(dataset)
            (seeded if kind == 'seeded' else dataset)[key]
        seconds[kind] += time.perf_counter() - start
    per_worker = {kind: samples * args.repeat / spent for kind, spent in seconds.items()}
    batch = cfg.train_dataloader.batch_size
    return dict(benchmark='data pipeline', data=root if root == protocol_root else 'tiny subset enlarged to 683x512',
                crop=list(crop_size_of(cfg)), images_per_s_per_worker=round(per_worker['seeded'], 1),
                images_per_s_per_worker_unseeded=round(per_worker['plain'], 1),
                seeding_cost_percent=round(100 * (per_worker['plain'] / per_worker['seeded'] - 1), 2),
                default_workers=speed.loader_workers(),
                workers_for_batch2_at_100ms=int(np.ceil(batch / 0.1 / per_worker['seeded'])),
                workers_for_batch2_at_50ms=int(np.ceil(batch / 0.05 / per_worker['seeded'])))


def main(argv=None):
    args = parse_args(argv)
    if args.side:
        model, sides = args.models[0], args.side.split('+')
        print(json.dumps(measure_paired(model, args, sides) if len(sides) > 1 else measure(model, args.side, args)))
        return 0
    if args.data_pipeline:
        print(json.dumps(data_pipeline(args)), flush=True)
    if args.validation_report:
        print(json.dumps(validation_report_cost(args)), flush=True)
    results = []
    for model in args.models:
        results.append(compare(model, args, child_argv(args)))
        print(json.dumps(results[-1]), flush=True)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(markdown(results))
    return 1 if any('error' in r.get('ours', r) for r in results) else 0
