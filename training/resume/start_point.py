"""Where a run starts: fresh, or from the last good checkpoint in its work dir (after --restart: fresh, the old run
moved aside, never deleted), and whether the config still fits that checkpoint (config_guard, longer_schedule)."""
import datetime
import os
import sys
from dataclasses import dataclass
from typing import Optional

from ..checkpoints import iter_of, last_good_checkpoint
from ..config import drop_pretrained
from ..errors import UserError
from ..launch import ranks_of
from .config_guard import check_same_training
from .longer_schedule import KEEP, STRETCH


@dataclass
class StartPoint:
    """Where a run starts, as decided before the Runner is built."""
    checkpoint: Optional[str] = None     # the checkpoint it continues from; None: a fresh start
    iteration: int = 0                   # the iterations that checkpoint has trained
    trained_to_the_end: bool = False     # the checkpoint is at max_iters already: nothing to train
    schedule_note: Optional[str] = None  # what a grown --iters does to the LR schedule, for the log


def set_up_resume(cfg, restart, move_old_run=True):
    """The last good checkpoint in the work dir (cfg.load_from and cfg.resume say so), or None after --restart, which
    moves the old run aside (unless `move_old_run` is False: --print-config moves nothing, it says what would run)."""
    from mmengine.dist import barrier, get_rank
    if restart and move_old_run and get_rank() == 0 and last_good_checkpoint(cfg.work_dir):
        stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
        kept = f'{cfg.work_dir.rstrip("/")}_{stamp}'
        os.rename(cfg.work_dir, kept)
        print(f'--restart: the previous run is kept in {kept}', file=sys.stderr)
    barrier()  # every process decides after the move (a no-op in a single process)
    checkpoint = None if restart and not move_old_run else last_good_checkpoint(cfg.work_dir)
    checkpoint = rank_zeros_choice(checkpoint)
    cfg.load_from = checkpoint
    cfg.resume = checkpoint is not None
    return checkpoint


def rank_zeros_choice(checkpoint):
    """Rank 0's `checkpoint` (or None: a fresh start), which every rank then follows; a UserError on every rank where
    any of them cannot read it (a work dir on a disk of rank 0's node only), before any of them trains."""
    from mmengine.dist import all_gather_object, broadcast_object_list, get_world_size
    if get_world_size() == 1:
        return checkpoint
    chosen = [checkpoint]
    broadcast_object_list(chosen)
    checkpoint = chosen[0]
    readable = all_gather_object(checkpoint is None or os.access(checkpoint, os.R_OK))
    if not all(readable):
        blind = [rank for rank, ok in enumerate(readable) if not ok]
        raise UserError(
            f'{ranks_of(blind)} cannot read {checkpoint}, the checkpoint rank 0 continues from: the work dir is not '
            f'on a filesystem every node shares, so the nodes would not start from the same point. Nothing was '
            f'trained. Put the work dir on a shared filesystem (NFS, Lustre...), e.g. --work-dir /shared/work_dirs/'
            f'{{name}}, with the checkpoints there, and start the job again on every node.')
    return checkpoint


def where_to_start(cfg, script, args, move_old_run=True):
    """The StartPoint of a run of `cfg` with the command line `args`, written into the config: load_from, resume, and
    resume_with_new_config (the checkpoint's weights and moments under this config's hyper-parameters and schedule:
    resume/new_config.py). Raises the guard's error where the config no longer fits the checkpoint."""
    checkpoint = set_up_resume(cfg, args.restart, move_old_run)
    cfg.resume_with_new_config = False
    if not checkpoint:
        return StartPoint()
    done = iter_of(checkpoint)
    if done >= cfg.train_cfg.max_iters:
        return StartPoint(checkpoint, done, trained_to_the_end=True)
    choice = STRETCH if args.stretch_schedule else KEEP if args.keep_schedule else None
    changes, growth = check_same_training(cfg, checkpoint, script, args.resume_with_new_config, choice)
    drop_pretrained(cfg.model)  # the checkpoint overwrites the backbone anyway
    cfg.resume_with_new_config = bool(changes) or bool(growth and growth.how == STRETCH)
    return StartPoint(checkpoint, done, schedule_note=growth.note if growth else None)
