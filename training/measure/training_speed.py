"""The training-speed benchmark: a train_<model>.py config (ours) and, with --vs-official, MMSeg's official config as
its tools/train.py would run it, each timed over the same steps in a process of its own (or both in one, step by step:
--paired); ms/iter, data wait, memory, GFLOPs, and the ratio ours/official."""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading

from .. import speed
from ..config import crop_size_of, drop_pretrained, set_crop_size, set_data_root, set_schedule_length
from ..data.dataset_check import check_data
from ..experiments import load_script, official_mmseg_config, official_of
from ..hooks import unwrapped
from ..paths import REPO_ROOT
from ..precision import set_precision
from ..project_runner import build_runner
from ..run_config import build_config
from ..smoke import SMOKE_DATA_ROOT
from .timing import StepTimer, Turns, combine, gflops_per_image, median_run

COMMAND = os.path.join(REPO_ROOT, 'tools', 'benchmark.py')
CPU_CROP = 128
CHILD_TIMEOUT_S = 3600  # one measurement; a hung child becomes an error in the JSON


def crop_size(args, cfg):
    """The crop to time: --crop, else on a GPU the script's own (the protocol's 512), on a CPU 128."""
    import torch
    return args.crop or (crop_size_of(cfg)[0] if torch.cuda.is_available() else CPU_CROP)


def official_base(model):
    """The official MMSeg recipe of train_<model>.py (its OFFICIAL['config']), or None where MMSeg has none
    (vit_deit, sem_fpn: ported from their authors' code; stdc: adapted from Cityscapes)."""
    return official_mmseg_config(official_of(model))


def our_config(model, args, iters, compile_mode=None):
    argv = ['--no-pretrain', '--data-root', args.data_root, '--iters', str(iters)]
    argv += [flag for flag, on in (('--amp', args.amp), ('--channels-last', args.channels_last)) if on]
    argv += ['--compile-mode', compile_mode] if compile_mode else []
    script = load_script(model)
    cfg = build_config(script.config, script.OFFICIAL, argv)[0]
    set_precision(cfg, args.amp)  # as it trains on this machine (run_config's machine step)
    return cfg


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


def prepare(model, side, args, turns=None, label=None):
    """One side's Runner (the project's, for ours and compiled[@MODE]: ours with --compile) with its step timer;
    validation, checkpoints and log lines off."""
    import torch
    from mmengine.runner import Runner
    check_data(args.data_root, model, generate_tiny=args.data_root == SMOKE_DATA_ROOT)
    iters = args.warmup + args.iters
    # compiled: ours with --compile; compiled@MODE: with --compile-mode MODE
    compile_mode = (side.partition('@')[2] or 'default') if side.startswith('compiled') else None
    cfg = (official_config(model, args, iters) if side == 'official'
           else our_config(model, args, iters, compile_mode))
    if side == 'official':  # on this machine, in our precision (on the CPU: bf16 autocast, as ours)
        set_precision(cfg, args.amp)
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
    runner = Runner.from_cfg(cfg) if side == 'official' else build_runner(cfg)[0]
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
        compile=bool(cfg.get('compile_model')), channels_last=side != 'official' and args.channels_last,
        workers=cfg.train_dataloader.num_workers,
        ms_per_iter_median=round(median_s * 1000, 1),
        ms_per_iter_p90=round(steps[min(len(steps) - 1, int(0.9 * len(steps)))] * 1000, 1),
        data_wait_ms=round(statistics.median(waits) * 1000, 2),
        images_per_s=round(batch / median_s, 2),
        peak_mem_mb=round(peak_mb) if memory else None,
        peak_mem_kind=('cuda max allocated' if cuda else 'process RSS') if memory else 'n/a: sides share a process',
        gflops_per_image=gflops,
        final_loss=round(float(runner.message_hub.get_scalar('train/loss').current()), 4),
        losses=[round(float(loss), 5) for loss in runner.message_hub.get_scalar('train/loss').data[0]],
        # forward + backward ~ 3 forwards, counted in multiply-adds like the GFLOPs
        tflops_achieved=round(3 * gflops * batch / median_s / 1000, 3) if gflops else None)
    if gflops_error:
        result['gflops_error'] = gflops_error
    compiled = getattr(runner, 'compiled', None)
    if compiled is not None:  # --compile: what the first step compiled, and whether anything compiled again
        counts = compiled.counts_after_first_step or {}
        result.update(first_step_s=round(timer.steps[0], 1), recompiles=compiled.recompiles(),
                      graphs=counts.get('graphs'), graph_breaks=counts.get('graph_breaks'),
                      first_break=counts.get('first_break'))
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
    argv += [flag for flag, on in (('--amp', args.amp), ('--channels-last', args.channels_last)) if on]
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

