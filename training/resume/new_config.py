"""--resume-with-new-config: continue a run from its checkpoint's weights, iteration, seed and optimizer moments,
with the edited config's hyper-parameters and LR schedule (as at this iteration)."""
from .. import compat
from ..arguments import rerun_command
from ..errors import UserError
from ..hooks import unwrapped
from .longer_schedule import replayed_schedules


def continue_with_new_config(runner, filename, checkpoint):
    """Runner.resume for --resume-with-new-config: the checkpoint's weights, iteration, seed and optimizer
    moments; the new config's optimizer hyper-parameters and LR schedule (as at this iteration)."""
    model = unwrapped(runner.model)
    _check_same_parameters(model.state_dict(), checkpoint['state_dict'], filename)
    model.load_state_dict(checkpoint['state_dict'])
    meta = checkpoint['meta']
    compat.set_loop_position(runner.train_loop, meta['epoch'], meta['iter'])
    if meta.get('seed') is not None and meta['seed'] != runner.seed:
        compat.reseed_runner(runner, meta['seed'])
    runner.message_hub.load_state_dict(checkpoint['message_hub'])
    kept_moments = _load_optimizer_moments(runner.optim_wrapper, checkpoint.get('optimizer') or {})
    old_lr = ((checkpoint.get('optimizer') or {}).get('param_groups') or [{}])[0].get('lr')
    _fast_forward_schedule(runner, meta['iter'])
    new_lr = runner.optim_wrapper.optimizer.param_groups[0]['lr']
    compat.mark_resumed(runner)
    runner.logger.info(
        f'continuing from {filename} (iteration {meta["iter"]}) with the edited config: learning rate now '
        f'{new_lr:.6g} (the checkpoint had {old_lr:.6g}); '
        + ('optimizer moments from the checkpoint' if kept_moments else
           'optimizer moments start fresh (the parameter groups changed)'))


def _check_same_parameters(model_state, checkpoint_state, filename):
    problems = [f'{key} is not in the checkpoint' for key in model_state if key not in checkpoint_state]
    problems += [f'{key} of the checkpoint is not in the model' for key in checkpoint_state if key not in model_state]
    problems += [f'{key} has shape {tuple(model_state[key].shape)} here and {tuple(value.shape)} in the checkpoint'
                 for key, value in checkpoint_state.items()
                 if key in model_state and tuple(model_state[key].shape) != tuple(value.shape)]
    if problems:
        more = f' (and {len(problems) - 3} more)' if len(problems) > 3 else ''
        raise UserError(
            f'The edited model does not fit {filename}: {"; ".join(problems[:3])}{more}. '
            f'--resume-with-new-config keeps the trained weights, so the architecture must stay the same. '
            f'To train the changed model: `{rerun_command(["--restart"])}` (the old run is kept, renamed), '
            f'or give it its own work dir with --work-dir.')


def _load_optimizer_moments(optim_wrapper, saved):
    """Loads the per-parameter state (momentum, Adam moments) and the loss scale of `saved` under the new
    hyper-parameters; returns False when the parameter groups differ and the moments start fresh."""
    current = optim_wrapper.optimizer.state_dict()
    groups = saved.get('param_groups') or []
    if len(groups) != len(current['param_groups']) or any(
            len(old['params']) != len(new['params']) for old, new in zip(groups, current['param_groups'])):
        return False
    optim_wrapper.optimizer.load_state_dict({'state': saved.get('state', {}), 'param_groups': current['param_groups']})
    scaler = getattr(optim_wrapper, 'loss_scaler', None)
    if scaler is not None and 'loss_scaler' in saved:
        scaler.load_state_dict(saved['loss_scaler'])
    return True


def _fast_forward_schedule(runner, iteration):
    """Sets the LR of every parameter group, and the schedulers' state, to what the new config's schedule gives
    at `iteration`: the schedule is replayed on one stand-in parameter per distinct initial LR (a real
    optimizer can hold hundreds of groups), then copied over."""
    schedulers = runner.param_schedulers or []
    if isinstance(schedulers, dict) or not schedulers:
        return
    groups = runner.optim_wrapper.optimizer.param_groups
    initial = [group.get('initial_lr', group['lr']) for group in groups]
    distinct = sorted(set(initial))
    stand_in, replayed = replayed_schedules([runner.cfg.param_scheduler[i] for i in range(len(schedulers))],
                                             distinct, iteration)
    replayed_lr = {lr: group['lr'] for lr, group in zip(distinct, stand_in.param_groups)}
    for group, lr in zip(groups, initial):
        group['initial_lr'], group['lr'] = lr, replayed_lr[lr]
    for scheduler, replay in zip(schedulers, replayed):
        state = replay.state_dict()
        state['base_values'] = list(initial)
        compat.set_last_scheduled_values(state, [group['lr'] for group in groups])
        scheduler.load_state_dict(state)
