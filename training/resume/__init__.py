"""Continuing a run: crash-proof, fast, and never silently mixing two configs, one module a job.

start_point     which checkpoint a run continues from, or --restart (the old run moved aside)
fast_loop       FastResumeLoop: a resumed run's next step in seconds, on the samples an uninterrupted one sees
config_guard    a config edited since the checkpoint stops with the differing keys and the ways out
longer_schedule a grown --iters: what happens to the LR schedule (--stretch-schedule, --keep-schedule)
new_config      --resume-with-new-config: the checkpoint's weights and moments under the edited config
(Checkpoints are written atomically: checkpoint_format.py.)
"""
