"""Which checkpoint a run continues from: the last good one in its work dir, or none after --restart (the old run is
moved aside, never deleted)."""
import datetime
import os
import sys

from ..checkpoints import last_good_checkpoint


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
