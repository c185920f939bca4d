"""Training a set of the collection's scripts as jobs (command line: run_all.py), through submitit: on this
machine's GPUs (N GPUs per run, as many runs at once as fit, the rest queued) or on a Slurm cluster. Both take the
same job description (TrainingJob); only the executor differs.

- Resumable: a model whose work dir holds its final checkpoint (iter_<max_iters>.pth) is skipped; an unfinished
  one is started again and its script continues from its last checkpoint (or refuses, as it always does, when the
  script was edited since: that job fails with the script's paragraph).
- One failing job never stops the others; the end lists the failures with the first line of their error.
- Preemption: Slurm's own (--requeue) sends SIGTERM to every process of the job: the training process writes a
  checkpoint at its current iteration and exits 143 (preemption.py), and Slurm requeues the job. Near the time
  limit submitit sends USR2 (slurm_signal_delay_s before it) and calls TrainingJob.checkpoint(), which does the
  same through SIGTERM and requeues the job.
- The state of every job (submitted, running, done, failed and why) is kept in <folder>/jobs.json; --status
  reads it with the work dirs' logs.
"""
# categories  the original description's categories, and choosing models by them
# runs        each model's run as the scripts' flags resolve it: work dir, length, finished or not
# jobs        TrainingJob: one script's training as submitit runs it (and requeues it)
# state       <folder>/jobs.json: what happened to every job
# local       this machine's GPUs: as many runs at once as fit, the rest queued
# slurm       one Slurm job per run
# status      the table of --status and the end of a collection
