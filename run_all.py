"""Train several of the collection's models with one command, then compare them (summarize.py).

    python run_all.py all --gpus 0-7 --gpus-per-run 8 --total-batch 16     # one after another, 8 GPUs each
    python run_all.py --category 轻量级 --gpus 0-7 --gpus-per-run 1          # 8 runs at once, the rest queued
    python run_all.py --category transformer --slurm --partition gpu --gpus-per-run 8 --time 72:00:00
    python run_all.py segformer --slurm --partition gpu --nodes 2 --gpus-per-node 8  # 16 GPUs, an srun task each
    python run_all.py --status                                              # table: state, iteration, mIoU, ETA

Every other flag goes to the scripts (--total-batch, --amp, --iters, --seed, --log-to, --cfg-options ...). Run the
same command again to continue: finished models are skipped, unfinished ones continue from their last checkpoint. The
jobs run through submitit (training/collection/); their state (each with the work dir and flags it ran with) and logs are
kept in --folder (work_dirs/run_all/), where --status and the closing summary (results.md, results.png) read them.
"""
import argparse
import os
import sys

import summarize
from training.collection import categories, local, runs, slurm, status
from training.errors import UserError, exit_code
from training.run_summary import model_of_run


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog='Other flags are passed to every train_<model>.py.')
    parser.add_argument('models', nargs='*', help="model names (fcn segformer ...) or 'all' (default)")
    parser.add_argument('--category', help='a category of the original description: ' + ', '.join(
        f'{chinese} ({english})' for chinese, (english, _) in categories.CATEGORIES.items()))
    parser.add_argument('--gpus', help="this machine's GPUs to use, e.g. 0-7 or 0,1,2,3 (default: all visible)")
    parser.add_argument('--gpus-per-run', type=int, default=1,
                        help='GPUs per training run (torchrun above 1; 0 with --slurm: CPU jobs that ask for no GPU)')
    parser.add_argument('--cpus-per-run', type=int, help='with --slurm: CPUs per job (default 8 per GPU, 1 without); '
                                                         'with --nodes: per task')
    parser.add_argument('--nodes', type=int, help='with --slurm: nodes per run; each runs one srun task (one training '
                                                  'process) per GPU, --gpus-per-node of them')
    parser.add_argument('--gpus-per-node', type=int, default=8, help='with --nodes: GPUs (and tasks) per node (default '
                                                                     '8; 0: CPU tasks, --tasks-per-node of them)')
    parser.add_argument('--tasks-per-node', type=int, help='with --nodes: training processes per node (default: one '
                                                           'per GPU)')
    parser.add_argument('--jobs', type=int, help='at most this many runs at once (default: as many as the GPUs '
                                                 'fit; 1 without GPUs)')
    parser.add_argument('--slurm', action='store_true', help='submit to Slurm instead of running here')
    parser.add_argument('--partition', help='Slurm partition')
    parser.add_argument('--time', default='72:00:00', help='Slurm time limit per job, HH:MM:SS (default 72:00:00)')
    parser.add_argument('--account', help='Slurm account')
    parser.add_argument('--dry-run', action='store_true', help='with --slurm: print the sbatch script, submit nothing')
    parser.add_argument('--status', action='store_true',
                        help='print the state of the runs of --folder, as they were run (the named models or category '
                             'only, where given; no other flag is needed), and exit')
    parser.add_argument('--folder', default='work_dirs/run_all', help='where the jobs\' state and logs go')
    args, script_args = parser.parse_known_args(argv)
    return args, script_args


def gpu_list(text):
    """'0-3' or '0,2,5' -> [0, 1, 2, 3] / [0, 2, 5]; None -> every visible GPU."""
    if text is None:
        import torch
        return list(range(torch.cuda.device_count()))
    gpus = []
    for part in text.split(','):
        first, _, last = part.partition('-')
        gpus += list(range(int(first), int(last or first) + 1))
    return gpus


def minutes(text):
    """A Slurm time limit, 'hours:minutes:seconds', 'minutes:seconds' or 'minutes', in whole minutes."""
    parts = [int(part) for part in text.split(':')]
    hours, mins, secs = ([0] * (3 - len(parts)) + parts) if len(parts) > 1 else (0, parts[0], 0)
    return hours * 60 + mins + (secs > 0)


def report(collection, folder, never_run=()):
    """The status table of the collection's runs and, once none runs any more, the failures and the summary of
    exactly these runs (<folder>/results.md and .png, and the HTML report <folder>/report.html). Exit status 1 where a
    run failed or nothing could be summarised."""
    rows = status.status_rows(collection, folder, never_run)
    print(status.status_table(rows))
    if any(r['state'] in ('running', 'queued') for r in rows):
        return 0
    failed = status.failures(rows)
    if failed:
        print('\nfailed:\n' + '\n'.join(f'  {line}' for line in failed))
    out, page = os.path.join(folder, 'results.md'), os.path.join(folder, 'report.html')
    lines = summarize.write_summary([(model_of_run(run['work_dir'], default=run['model']), run['work_dir'])
                                      for run in collection], out, page)
    if collection and not lines:
        print(f'\nerror: no run of this collection has validated yet: nothing to summarise in {out}.',
              file=sys.stderr)
        return 1
    if lines:
        print('\n' + '\n'.join(lines) + f'\nsaved: {out}, {os.path.splitext(out)[0]}.png\nreport: {page}')
    return 1 if failed else 0


def main(argv=None):
    args, script_args = parse_args(sys.argv[1:] if argv is None else argv)
    args.folder = os.path.abspath(args.folder)  # (Slurm's jobs write their logs there from wherever they run)
    if args.status:
        named = categories.select(args.models, args.category) if args.models or args.category else None
        collection, never_run = runs.recorded(args.folder, named)
        if not collection and named is None:
            raise UserError(f'No job is recorded in {args.folder}/jobs.json: nothing was run with --folder '
                            f'{args.folder} yet. Start one with python run_all.py MODEL ... --folder {args.folder}.')
        return report(collection, args.folder, never_run)
    planned = runs.plan(categories.select(args.models, args.category), script_args)
    todo = [run for run in planned if not runs.finished(run)]
    for run in planned:
        if run not in todo:
            print(f'[run_all] {run["model"]}: done already ({run["work_dir"]}/iter_{run["max_iters"]}.pth)')
    if args.nodes and not args.slurm:
        raise UserError('--nodes is for Slurm jobs: add --slurm --partition NAME (on one machine, --gpus-per-run N '
                        'runs torchrun with N processes).')
    if args.slurm:
        if not args.partition:
            raise UserError('--slurm needs --partition (the Slurm partition to submit to).')
        cluster = dict(gpus_per_run=args.gpus_per_run, partition=args.partition, time_limit_min=minutes(args.time),
                       account=args.account, cpus_per_run=args.cpus_per_run, nodes=args.nodes,
                       gpus_per_node=args.gpus_per_node, tasks_per_node=args.tasks_per_node)
        if args.dry_run:
            for run in todo:
                job = slurm.training_job(run['model'], script_args, **cluster)
                print(f'# {run["model"]}: the sbatch script; its job runs {" ".join(job.command())}')
                print(slurm.sbatch_script(args.folder, job, **cluster))
            return 0
        slurm.submit_slurm(todo, args.folder, **cluster)
        print(f'[run_all] follow them with: python run_all.py --status --folder {args.folder}')
        return 0
    local.run_local(todo, local.local_slots(gpu_list(args.gpus), args.gpus_per_run, args.jobs), args.folder)
    return report(planned, args.folder)


if __name__ == '__main__':
    sys.exit(exit_code(main, '--debug' in sys.argv))
