"""The validation-report benchmark (--validation-report): what the prediction panels and per-class figures of
visualization.py add to a validation of fcn on ADE-size images."""
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

