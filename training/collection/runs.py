"""Each model's run as the scripts' flags resolve it (its work dir, length and flags), and the runs a collection has
recorded in its jobs.json: what --status and the closing summary follow, as they were run."""
import os

from ..paths import REPO_ROOT
from ..trained import experiment_config
from .state import load_state


def plan(models, script_args):
    """[{model, work_dir, max_iters, args, smoke}] of each model's resolved config under the scripts' flags
    `script_args` (checked here, before anything is submitted)."""
    runs = []
    for model in models:
        cfg = experiment_config(model, script_args)
        runs.append(dict(model=model, work_dir=os.path.join(REPO_ROOT, cfg.work_dir), max_iters=cfg.train_cfg.max_iters,
                         args=list(script_args), smoke='--smoke' in script_args))
    return runs


RECORDED = ('work_dir', 'max_iters', 'args', 'smoke')  # what jobs.json keeps of a run with its job


def described(run):
    """The fields of a run that jobs.json records with its job."""
    return {key: run[key] for key in RECORDED}


def recorded(folder, models=None):
    """The runs of the collection in `folder`, as recorded when their jobs started (the named `models` only, in that
    order, where given): [{model, work_dir, max_iters, args, smoke}], and the named models never run there."""
    state = load_state(folder)
    names = models if models is not None else list(state)
    runs = [dict(model=model, **described(state[model])) for model in names if 'work_dir' in state.get(model, {})]
    return runs, [model for model in names if 'work_dir' not in state.get(model, {})]


def finished(run):
    return os.path.isfile(final_checkpoint(run))


def final_checkpoint(run):
    return os.path.join(run['work_dir'], f'iter_{run["max_iters"]}.pth')
