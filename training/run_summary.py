"""What a run's work dir says about it: which model it trained (its own config, whatever the folder is called),
whether it was a smoke run, and its best mIoU, time and memory from MMEngine's scalars. summarize.py, the HTML report,
run_all.py --status and the trackers read runs here."""
import glob
import os
import re

from .checkpoints import read_scalars
from .experiments import official_of
from .paths import model_of_work_dir
from .smoke import SMOKE_DATA_ROOT


def _dumped_configs(work_dir):
    """The texts of the configs MMEngine dumped into the work dir (<work_dir>/<config name>.py), newest first."""
    texts = []
    for path in sorted(glob.glob(os.path.join(work_dir, '*.py')), key=os.path.getmtime, reverse=True):
        with open(path) as f:
            texts.append(f.read())
    return texts


def _top_level_string(text, key):
    match = re.search(rf"^{key} = '(.*)'$", text, re.MULTILINE)
    return match.group(1) if match else None


def model_of_run(work_dir, default=None):
    """The model (train_<model>.py) a work dir trained, as its dumped config says: its `experiment` key (written since
    2026-12-08), else its own work_dir key's name. Where the run dumped no config (yet): `default`, else the
    folder's name."""
    for text in _dumped_configs(work_dir):
        experiment = _top_level_string(text, 'experiment')
        if experiment:
            return experiment
        recorded = _top_level_string(text, 'work_dir')
        if recorded:
            return model_of_work_dir(recorded)
    return default or model_of_work_dir(work_dir)


def is_smoke_run(work_dir):
    """Whether the run trained on the generated tiny subset, as the config MMEngine dumped into its work dir says
    (else: as its name says)."""
    for text in _dumped_configs(work_dir):
        data_root = _top_level_string(text, 'data_root')
        if data_root:
            return os.path.normpath(SMOKE_DATA_ROOT) in os.path.normpath(data_root)
    return work_dir.rstrip('/').endswith('_smoke')


def summarize_run(work_dir):
    """Best mIoU, its iteration and validation loss, training hours and peak memory of one work dir, from MMEngine's
    scalars."""
    records = read_scalars(work_dir)
    vals = [r for r in records if 'mIoU' in r]
    if not vals:
        return None
    best = max(vals, key=lambda r: r['mIoU'])
    train = {r['step']: r for r in records if 'loss' in r}  # one record per logged step (resumes deduplicated)
    steps = sorted(train)
    # each logged record's 'time' is the mean step time over its logging interval
    seconds = sum(train[s]['time'] * (s - p) for p, s in zip([0] + steps, steps))
    memory = max((r.get('memory', 0) for r in train.values()), default=0)
    return dict(best_miou=best['mIoU'], best_iter=best['step'], best_val_loss=best.get('val_loss'), hours=seconds / 3600,
                memory_mb=memory or None,
                smoke=is_smoke_run(work_dir), iterations=steps[-1] if steps else 0)


def collect(runs):
    """Rows of the validated runs among `runs`, [(model, work dir)]."""
    rows = []
    for model, work_dir in runs:
        run = summarize_run(work_dir)
        if run:
            rows.append(dict(model=model, work_dir=work_dir, official=official_of(model).get('miou'), **run))
    return rows
