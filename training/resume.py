"""Continuing a run: crash-proof, fast, and never silently mixing two configs.

- Checkpoints are written atomically (to a temporary file, then renamed), so a run killed mid-write
  never leaves a truncated iter_N.pth; MMEngine 0.10.7 writes them in place. A broken last_checkpoint
  pointer falls back to the newest readable checkpoint (checkpoints.last_good_checkpoint).
- MMEngine 0.10.7's IterBasedTrainLoop replays every trained batch through the data pipeline when it
  resumes (minutes at iteration 150k). FastResumeLoop skips the sampler's indices instead: the next
  step starts in seconds, on the same samples an uninterrupted run would see.
- Before continuing, the resolved config is compared with the one recorded in the checkpoint
  (check_same_training): an edited LR or layer stops with the differing keys and the ways out, instead of
  MMEngine restoring the old LR silently or crashing on a changed layer. --resume-with-new-config continues
  with the edited config (continue_with_new_config): weights and optimizer moments from the checkpoint,
  hyper-parameters and the LR schedule from the new config.
"""
import datetime
import itertools
import os
import re
import shlex
import sys

from mmengine.dataset import InfiniteSampler
from mmengine.fileio.backends import LocalBackend
from mmengine.registry import LOOPS
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from .checkpoints import last_good_checkpoint, load_checkpoint_file, recorded_config
from .errors import UserError


def _atomic_put(self, obj, filepath):
    """LocalBackend.put, but a reader never sees half a file: write beside it, then rename."""
    filepath = str(filepath)
    os.makedirs(os.path.dirname(filepath) or '.', exist_ok=True)
    partial = f'{filepath}.partial-{os.getpid()}'
    try:
        with open(partial, 'wb') as f:
            f.write(obj)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, filepath)
    except BaseException:  # a full disk, a signal: no half file stays behind (and the space is free again)
        if os.path.exists(partial):
            os.remove(partial)
        raise


LocalBackend.put = _atomic_put


@LOOPS.register_module(force=True)
class FastResumeLoop(IterBasedTrainLoop):
    """IterBasedTrainLoop that resumes by skipping sampler indices instead of decoding batches."""

    def run(self):
        sampler = self.dataloader.sampler
        if not isinstance(sampler, InfiniteSampler):  # another sampler: MMEngine's replay
            return super().run()
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        # The sampler was built before Runner.resume restored the run's seed: derive its order from the
        # (restored) seed, so a resumed run sees the samples an uninterrupted one would, then skip the
        # ones already trained. Indices are plain ints: skipping 300k of them takes milliseconds.
        sampler.seed = self.runner.seed
        trained = self._iter * self.dataloader.batch_size
        sampler.indices = itertools.islice(sampler._indices_of_rank(), trained, None)
        self.dataloader_iterator = _InfiniteDataloaderIterator(self.dataloader)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            self.run_iter(next(self.dataloader_iterator))
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin and not self.stop_training
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model


# ---- which checkpoint ------------------------------------------------------------------------
def set_up_resume(cfg, restart):
    """Continue from the last checkpoint in the work dir, or (restart) move the old run aside."""
    from mmengine.dist import barrier, get_rank
    if restart and get_rank() == 0 and last_good_checkpoint(cfg.work_dir):
        stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
        kept = f'{cfg.work_dir.rstrip("/")}_{stamp}'
        os.rename(cfg.work_dir, kept)
        print(f'--restart: the previous run is kept in {kept}', file=sys.stderr)
    barrier()  # every process decides after the move (a no-op in a single process)
    checkpoint = last_good_checkpoint(cfg.work_dir)
    cfg.load_from = checkpoint
    cfg.resume = checkpoint is not None
    return checkpoint


# ---- has the training changed since the checkpoint? --------------------------------------------
TRAINING_KEYS = ('model', 'optim_wrapper', 'param_scheduler', 'train_dataloader', 'train_cfg', 'auto_scale_lr')
# keys of those that do not change what is trained: weights a checkpoint overrides anyway, where the data
# lives, loader speed settings, and when to validate
NOT_TRAINING = re.compile(r'(^|\.)(init_cfg|pretrained|data_root|num_workers|persistent_workers|pin_memory)(\.|$)'
                          r'|^train_cfg\.(type|val_interval|val_begin|dynamic_intervals)$')
SCHEDULE_POSITIONS = re.compile(r'^(train_cfg\.max_iters|param_scheduler\.\d+\.(begin|end|milestones\.\d+))$')
SHOWN_CHANGES = 10


def _flatten(node, prefix=''):
    if isinstance(node, dict):
        items = {}
        for key, value in node.items():
            items.update(_flatten(value, f'{prefix}{key}.'))
        return items or {prefix[:-1]: {}}
    if isinstance(node, (list, tuple)):
        items = {}
        for index, value in enumerate(node):
            items.update(_flatten(value, f'{prefix}{index}.'))
        return items or {prefix[:-1]: []}
    return {prefix[:-1]: node}


def training_settings(cfg):
    """{dotted key: value} of what decides the training (TRAINING_KEYS, less NOT_TRAINING)."""
    from mmengine.config import Config
    as_saved = Config.fromstring(cfg.pretty_text, '.py')  # the same round trip as the recorded config
    settings = {}
    for key in TRAINING_KEYS:
        if key in as_saved:
            settings.update(_flatten(as_saved[key].to_dict() if hasattr(as_saved[key], 'to_dict')
                                     else as_saved[key], f'{key}.'))
    return {key: value for key, value in settings.items() if not NOT_TRAINING.search(key)}


def changed_settings(old_cfg, new_cfg):
    """[(key, old, new)] of the training settings that differ. Schedule positions (max_iters, scheduler
    begin/end/milestones) are compared as fractions of max_iters: --iters stretches them and is no change."""
    old, new = training_settings(old_cfg), training_settings(new_cfg)
    old_max, new_max = old.get('train_cfg.max_iters'), new.get('train_cfg.max_iters')
    changes = []
    for key in sorted(old.keys() | new.keys(), key=lambda k: (k not in old, k)):
        before, after = old.get(key, '(absent)'), new.get(key, '(absent)')
        if before == after:
            continue
        if (SCHEDULE_POSITIONS.search(key) and old_max and new_max and isinstance(before, int)
                and isinstance(after, int)):
            if abs(after * old_max / new_max - before) <= 1 + old_max / new_max:  # the rounding of a stretch
                continue
        changes.append((key, before, after))
    return changes


def rerun_command(extra):
    """The command of this process with `extra` arguments instead of its own choice of how to continue (and of its
    --work-dir, where `extra` names one), as the user would type it."""
    argv, kept = sys.argv[1:], []
    while argv:
        arg = argv.pop(0)
        if arg in ('--restart', '--resume-with-new-config', '--stretch-schedule', '--keep-schedule'):
            continue
        if '--work-dir' in extra and arg.startswith('--work-dir'):
            if arg == '--work-dir' and argv:
                argv.pop(0)
            continue
        kept.append(arg)
    return 'python ' + ' '.join(shlex.quote(arg) for arg in [os.path.basename(sys.argv[0])] + kept + extra)


def check_same_training(cfg, checkpoint_path, script, continue_anyway, schedule_choice=None):
    """Stops when the training settings differ from the checkpoint's; returns the changes (allowed with
    continue_anyway) and, where --iters grew, what happens to the LR schedule (extended_schedule)."""
    checkpoint = load_checkpoint_file(checkpoint_path, mmap=True)
    old_cfg = recorded_config(checkpoint)
    if old_cfg is None:
        return [], None
    changes = [c for c in changed_settings(old_cfg, cfg) if c[0] != 'train_cfg.max_iters']
    if changes and not continue_anyway:
        listed = '; '.join(f'{key}: {before!r} -> {after!r}' for key, before, after in changes[:SHOWN_CHANGES])
        more = f' (and {len(changes) - SHOWN_CHANGES} more)' if len(changes) > SHOWN_CHANGES else ''
        new_dir = f'{cfg.work_dir.rstrip("/")}_v2'
        raise UserError(
            f'{script} no longer trains what {checkpoint_path} was trained with: {len(changes)} training '
            f'setting(s) changed since: {listed}{more}. Continuing would silently mix two runs. Choose one: '
            f'`{rerun_command(["--restart"])}` starts over (the old run is kept, renamed); '
            f'`{rerun_command(["--work-dir", new_dir])}` trains the edited config as a new experiment beside it; '
            f'`{rerun_command(["--resume-with-new-config"])}` continues from {os.path.basename(checkpoint_path)} '
            f'(weights and optimizer state) with the edited config.')
    if continue_anyway:  # the edited config's schedule, at its own length, is the one that continues
        return changes, None
    return changes, extended_schedule(old_cfg, cfg, checkpoint, schedule_choice)


STRETCH, KEEP = 'stretch', 'keep'  # --stretch-schedule, --keep-schedule


def extended_schedule(old_cfg, new_cfg, checkpoint, choice):
    """When --iters grew beyond the recorded max_iters: (what to do, the log line). MMEngine's resume keeps the
    recorded schedule, so past its end the LR stays at its final value; where that schedule has already ended, or
    ends at an LR of 0, continuing would train on at a dead LR: stop and name the choices, unless one was made.
    KEEP: the recorded schedule (its final LR on). STRETCH: the schedule of new_cfg, at this iteration, as if the
    run had been planned at the new length (runner.continue_with_new_config does it). None: no growth."""
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
        return STRETCH, (f'{grown}: --stretch-schedule continues with the LR schedule of a {new_max}-iteration run '
                         f'at iteration {done}: the learning rate goes from {lr_now:.3g} to {stretched_lr:.3g}')
    ended = done >= end
    if not (ended or final_lr == 0) or choice == KEEP:
        return KEEP, (f'{grown}: the run continues with the LR schedule recorded in its checkpoint, which ends at '
                      f'iteration {end}; after that the learning rate stays at its final value ({final_lr:.3g}). For '
                      f'one schedule over all {new_max} iterations, start over with --restart.')
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
    stand_in, _ = _replayed_schedules(scheduler_cfgs, [initial_lr], iterations)
    return stand_in.param_groups[0]['lr']


def _replayed_schedules(scheduler_cfgs, initial_lrs, iterations):
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


# ---- continuing with an edited config ----------------------------------------------------------
def continue_with_new_config(runner, filename, checkpoint):
    """Runner.resume for --resume-with-new-config: the checkpoint's weights, iteration, seed and optimizer
    moments; the new config's optimizer hyper-parameters and LR schedule (as at this iteration)."""
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    _check_same_parameters(model.state_dict(), checkpoint['state_dict'], filename)
    model.load_state_dict(checkpoint['state_dict'])
    meta = checkpoint['meta']
    runner.train_loop._epoch, runner.train_loop._iter = meta['epoch'], meta['iter']
    if meta.get('seed') is not None and meta['seed'] != runner.seed:
        runner._randomness_cfg.update(seed=meta['seed'])
        runner.set_randomness(**runner._randomness_cfg)
    runner.message_hub.load_state_dict(checkpoint['message_hub'])
    kept_moments = _load_optimizer_moments(runner.optim_wrapper, checkpoint.get('optimizer') or {})
    old_lr = ((checkpoint.get('optimizer') or {}).get('param_groups') or [{}])[0].get('lr')
    _fast_forward_schedule(runner, meta['iter'])
    new_lr = runner.optim_wrapper.optimizer.param_groups[0]['lr']
    runner._has_loaded = True
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
    stand_in, replayed = _replayed_schedules([runner.cfg.param_scheduler[i] for i in range(len(schedulers))],
                                             distinct, iteration)
    replayed_lr = {lr: group['lr'] for lr, group in zip(distinct, stand_in.param_groups)}
    for group, lr in zip(groups, initial):
        group['initial_lr'], group['lr'] = lr, replayed_lr[lr]
    for scheduler, replay in zip(schedulers, replayed):
        state = replay.state_dict()
        state['base_values'] = list(initial)
        state['_last_value'] = [group['lr'] for group in groups]
        scheduler.load_state_dict(state)
