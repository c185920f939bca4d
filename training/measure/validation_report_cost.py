"""What a validation hook adds to a validation on ADE-size images: --validation-report (the prediction panels and
per-class figures of visualization.py, fcn) and --validation-loss (validation_loss.py, the named models)."""
import glob
import os
import shutil
import statistics
import tempfile
import time

from ..config import data_root_of, set_data_root
from ..experiments import load_script
from ..project_runner import build_runner
from .ade_size import ade_size_data
from .training_speed import our_config


def validation_report_cost(args):
    """What the validation report (visualization.py) adds to a validation of fcn."""
    from ..visualization import ValidationReport
    return dict(benchmark='validation report', **hook_cost('fcn', ValidationReport, args))


def validation_loss_cost(model, args):
    """What the validation loss (validation_loss.py) adds to a validation of `model`."""
    from ..validation_loss import ValidationLoss
    return dict(benchmark='validation loss', **hook_cost(model, ValidationLoss, args))


def hook_cost(model, hook_class, args):
    """What the Runner's `hook_class` hook adds to a validation of `model` (the protocol's test pipeline and
    test_cfg, randomly initialised weights) on ADE-size images: the seconds spent in its methods, timed around each
    call, against the seconds of the rest of the validation, over `args.repeat` validations after a first one."""
    root = ade_size_data(data_root_of(load_script(model).config()))
    cfg = our_config(model, args, 100)
    set_data_root(cfg, root)
    cfg.work_dir = tempfile.mkdtemp(prefix='validation_cost_')
    cfg.default_hooks.checkpoint.save_best = None  # (a validation alone has no checkpoint to keep)
    runner, _ = build_runner(cfg)
    hook = next(hook for hook in runner.hooks if isinstance(hook, hook_class))
    spent = []
    for name in ('before_val_epoch', 'after_val_iter', 'after_val_epoch'):
        def timed(*a, method=getattr(hook, name), **k):
            start = time.perf_counter()
            try:
                return method(*a, **k)
            finally:
                spent.append(time.perf_counter() - start)
        setattr(hook, name, timed)
    runner.val()  # the first: start-up costs of both
    totals, in_hook = [], []
    for _ in range(args.repeat):
        spent.clear()
        start = time.perf_counter()
        runner.val()
        totals.append(time.perf_counter() - start)
        in_hook.append(sum(spent))
    shutil.rmtree(cfg.work_dir, ignore_errors=True)
    images = len(glob.glob(os.path.join(root, 'images', 'validation', '*.jpg')))
    rest = statistics.median(total - mine for total, mine in zip(totals, in_hook))
    return dict(model=model, images=images, mode=(cfg.model.get('test_cfg') or {}).get('mode', 'whole'),
                validation_s=round(statistics.median(totals), 2), hook_s=round(statistics.median(in_hook), 3),
                hook_ms_per_image=round(1000 * statistics.median(in_hook) / images, 1),
                cost_percent=round(100 * statistics.median(in_hook) / rest, 2))
