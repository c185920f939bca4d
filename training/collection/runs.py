"""Each model's run as the scripts' flags resolve it: its work dir and length, and whether it is finished."""
import os

from ..config import REPO_ROOT
from ..trained import experiment_config


def plan(models, script_args):
    """[{model, work_dir, max_iters}] of each model's resolved config under the scripts' flags `script_args` (checked
    here, before anything is submitted)."""
    runs = []
    for model in models:
        cfg = experiment_config(model, script_args)
        runs.append(dict(model=model, work_dir=os.path.join(REPO_ROOT, cfg.work_dir), max_iters=cfg.train_cfg.max_iters))
    return runs


def finished(run):
    return os.path.isfile(os.path.join(run['work_dir'], f'iter_{run["max_iters"]}.pth'))
