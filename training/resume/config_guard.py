"""Has the training changed since the checkpoint? Before continuing, the resolved config is compared with the one
recorded in the checkpoint: an edited LR or layer stops with the differing keys and the ways out, instead of MMEngine
restoring the old LR silently or crashing on a changed layer. --resume-with-new-config continues anyway
(new_config.py); a grown --iters is longer_schedule.py's question."""
import os
import re

from ..checkpoints import load_checkpoint_file, recorded_config
from ..arguments import rerun_command
from ..errors import UserError
from .longer_schedule import extended_schedule

TRAINING_KEYS = ('model', 'optim_wrapper', 'param_scheduler', 'train_dataloader', 'train_cfg', 'auto_scale_lr')
# keys of those that do not change what is trained: weights a checkpoint overrides anyway, where the data
# lives, loader speed settings, when to validate, and the precision (--amp is a speed switch: precision.py)
NOT_TRAINING = re.compile(r'(^|\.)(init_cfg|pretrained|data_root|num_workers|persistent_workers|pin_memory)(\.|$)'
                          r'|^train_cfg\.(type|val_interval|val_begin|dynamic_intervals)$'
                          r'|^optim_wrapper\.(type|dtype|loss_scale|use_fsdp)$')
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
