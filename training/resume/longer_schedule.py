"""A grown --iters on a run whose checkpoint recorded a shorter schedule: continue with the recorded LR schedule
(--keep-schedule), stretch it to the new length (--stretch-schedule), or, where the recorded one has ended or ends
at an LR of 0, stop and name the choices. And the LR a schedule gives at an iteration, replayed without the model."""
from typing import NamedTuple

from ..arguments import rerun_command
from ..errors import UserError


STRETCH, KEEP = 'stretch', 'keep'  # --stretch-schedule, --keep-schedule


class ScheduleGrowth(NamedTuple):
    """What a grown --iters does to the LR schedule of a resumed run."""
    how: str   # STRETCH or KEEP
    note: str  # the line the run logs about it


def extended_schedule(old_cfg, new_cfg, checkpoint, choice):
    """When --iters grew beyond the recorded max_iters: its ScheduleGrowth. MMEngine's resume keeps the
    recorded schedule, so past its end the LR stays at its final value; where that schedule has already ended, or
    ends at an LR of 0, continuing would train on at a dead LR: stop and name the choices, unless one was made.
    KEEP: the recorded schedule (its final LR on). STRETCH: the schedule of new_cfg, at this iteration, as if the
    run had been planned at the new length (the config's resume_with_new_config does it). None: no growth."""
    old_max, new_max = old_cfg.train_cfg.max_iters, new_cfg.train_cfg.max_iters
    if new_max <= old_max:
        return None
    done = checkpoint['meta']['iter']
    groups = (checkpoint.get('optimizer') or {}).get('param_groups') or [{}]
    lr_now, initial_lr = groups[0].get('lr'), groups[0].get('initial_lr', groups[0].get('lr'))
    end = min(old_max, max((s.get('end', old_max) for s in old_cfg.get('param_scheduler') or []), default=old_max))
    final_lr = lr_now if done >= end else _lr_after(old_cfg.get('param_scheduler') or [], initial_lr, end)
    grown = f'--iters grew from {old_max} to {new_max}'
    if choice == STRETCH:
        stretched_lr = _lr_after(new_cfg.get('param_scheduler') or [], initial_lr, done)
        return ScheduleGrowth(STRETCH, f'{grown}: --stretch-schedule continues with the LR schedule of a '
                                       f'{new_max}-iteration run at iteration {done}: the learning rate goes from '
                                       f'{lr_now:.3g} to {stretched_lr:.3g}')
    ended = done >= end
    if not (ended or final_lr == 0) or choice == KEEP:
        return ScheduleGrowth(KEEP, f'{grown}: the run continues with the LR schedule recorded in its checkpoint, '
                                    f'which ends at iteration {end}; after that the learning rate stays at its final '
                                    f'value ({final_lr:.3g}). For one schedule over all {new_max} iterations, start '
                                    f'over with --restart.')
    why = (f'its LR schedule ended at iteration {end}' if ended else
           f'its LR schedule ends at iteration {end} with a learning rate of 0')
    stretched_lr = _lr_after(new_cfg.get('param_scheduler') or [], initial_lr, done)
    raise UserError(
        f'{grown}, but this run is at iteration {done} and {why}: continuing as it is would train iterations '
        f'{max(done, end) + 1}-{new_max} at a learning rate of {final_lr:.3g}, which changes '
        f'{"nothing" if final_lr == 0 else "little"}. Choose one: `{rerun_command(["--restart"])}` starts a '
        f'{new_max}-iteration run over (the old run is kept, renamed); `{rerun_command(["--stretch-schedule"])}` '
        f'continues from iteration {done} with the schedule stretched to {new_max} iterations, as if planned so from '
        f'the start (the learning rate goes from {lr_now:.3g} to {stretched_lr:.3g}); '
        f'`{rerun_command(["--keep-schedule"])}` continues with the ended schedule (learning rate {final_lr:.3g}).')


def _lr_after(scheduler_cfgs, initial_lr, iterations):
    """The learning rate of a group that starts at initial_lr, after `iterations` steps of these schedulers."""
    stand_in, _ = replayed_schedules(scheduler_cfgs, [initial_lr], iterations)
    return stand_in.param_groups[0]['lr']


def replayed_schedules(scheduler_cfgs, initial_lrs, iterations):
    """(an SGD over one stand-in parameter per initial LR, its schedulers) after `iterations` scheduler steps: the
    LR a schedule gives at an iteration, without the model (a real optimizer can hold hundreds of groups)."""
    import warnings

    import torch
    from mmengine.optim import OptimWrapper
    from mmengine.registry import PARAM_SCHEDULERS
    stand_in = torch.optim.SGD([{'params': [torch.nn.Parameter(torch.zeros(1))], 'lr': lr} for lr in initial_lrs],
                               lr=initial_lrs[0])
    wrapper = OptimWrapper(stand_in)
    schedulers = [PARAM_SCHEDULERS.build(dict(cfg, optimizer=wrapper)) for cfg in scheduler_cfgs]
    with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()": there is no optimizer step here
        warnings.simplefilter('ignore', UserWarning)
        for _ in range(iterations):
            for scheduler in schedulers:
                scheduler.step()
    return stand_in, schedulers
