"""What --compile (training/compiling.py) pays, two ways:

- compile_comparison: eager, compiled and official MMSeg in one process, one training step each in turn (the paired
  method of training_speed.py, so the three see the same machine state); one line per model:
  `<model> eager <ms> compiled <ms> speedup <x> recompiles <n> graph_breaks <n> official <ms>`.
- compile_report: every model, eager and compiled each in a process of its own from the same seed, 20 steps each (the
  same data and LR schedule): whether it compiles, graph breaks (count, the first reason), recompiles over the 20
  steps, the first step's time, the loss after 10 steps against eager, the step time against eager.
"""
import argparse
import statistics

from .training_speed import child_argv, official_base, run_side

REPORT_STEPS = 20
LOSS_STEP = 10


def paired_run(model, sides, args):
    """One child process training `sides` one step each in turn; with --repeat, the run of the median speedup."""
    runs = [run_side(model, sides, child_argv(args)) for _ in range(args.repeat)]
    compiled = sides.split('+')[1]
    good = [run for run in runs if all('error' not in run.get(side, run) for side in ('ours', compiled))]
    if not good:
        first = runs[0]
        return None, first.get(compiled, first.get('ours', first)).get('error', 'no result')
    good.sort(key=lambda run: run['ours']['ms_per_iter_median'] / run[compiled]['ms_per_iter_median'])
    return good[len(good) // 2], None


def compile_comparison(model, args):
    """Eager, compiled and official (where MMSeg has the recipe), paired. Each further mode of args.compile_modes
    (reduce-overhead: CUDA graphs) is paired with eager in a process of its own: Dynamo's caches are per process,
    and two compiled copies of one model in one process would count as recompiles of each other."""
    row = dict(model=model)
    for index, mode in enumerate(args.compile_modes):
        compiled = 'compiled' if mode == 'default' else f'compiled@{mode}'
        official = '+official' if index == 0 and official_base(model) else ''
        run, error = paired_run(model, f'ours+{compiled}{official}', args)
        if error:
            row.setdefault('errors', {})[mode] = error
            continue
        eager, side = run['ours'], run[compiled]
        row.setdefault('eager_ms', eager['ms_per_iter_median'])
        row.setdefault('device', eager['device'])
        row.setdefault('crop', eager['crop'])
        row.setdefault('dtype', eager['dtype'])
        if index == 0:
            row['official_ms'] = run.get('official', {}).get('ms_per_iter_median', 'n/a')
        row[mode] = dict(ms=side['ms_per_iter_median'], eager_ms=eager['ms_per_iter_median'],
                         speedup=round(eager['ms_per_iter_median'] / side['ms_per_iter_median'], 3),
                         recompiles=side.get('recompiles'), graph_breaks=side.get('graph_breaks'),
                         first_break=side.get('first_break'), first_step_s=side.get('first_step_s'))
    if not any(mode in row for mode in args.compile_modes):
        row['error'] = '; '.join(f'{mode}: {error}' for mode, error in row.get('errors', {}).items())
    return row


def comparison_line(row):
    """`<model> eager <ms> compiled <ms> speedup <x> recompiles <n> graph_breaks <n> official <ms>`, then the same for
    each further mode (`reduce-overhead <ms> speedup <x> ...`)."""
    if 'error' in row:
        return f"{row['model']} error {row['error']}"
    line = f"{row['model']} eager {row['eager_ms']}"
    for index, mode in enumerate(key for key in row if isinstance(row[key], dict) and 'speedup' in row[key]):
        figures = row[mode]
        line += (f" {'compiled' if mode == 'default' else mode} {figures['ms']} speedup {figures['speedup']} "
                 f"recompiles {figures['recompiles']} graph_breaks {figures['graph_breaks']}")
        if index == 0:
            line += f" official {row.get('official_ms', 'n/a')}"
    return line


def geometric_mean(values):
    return statistics.geometric_mean(values) if values else None


def compile_report_row(model, args):
    """One model of the report: an eager and a compiled run of REPORT_STEPS steps from the same seed."""
    # both the same number of steps: the LR schedule follows the run's length
    steps = child_argv(argparse.Namespace(**dict(vars(args), warmup=2, iters=REPORT_STEPS - 2)))
    eager, compiled = run_side(model, 'ours', steps), run_side(model, 'compiled', steps)
    row = dict(model=model, crop=eager.get('crop'), device=eager.get('device'))
    if 'error' in compiled or 'error' in eager:
        row.update(compiles=False, error=compiled.get('error') or eager.get('error'))
        return row
    eager_loss, compiled_loss = eager['losses'][LOSS_STEP - 1], compiled['losses'][LOSS_STEP - 1]
    row.update(compiles=True, graphs=compiled['graphs'], graph_breaks=compiled['graph_breaks'],
               first_break=compiled['first_break'], recompiles=compiled['recompiles'],
               first_step_s=compiled['first_step_s'],
               compile_s=round(compiled['first_step_s'] - eager['ms_per_iter_median'] / 1000, 1),
               eager_loss=eager_loss, compiled_loss=compiled_loss,
               loss_rel_diff=round(abs(compiled_loss - eager_loss) / abs(eager_loss), 5),
               eager_ms=eager['ms_per_iter_median'], compiled_ms=compiled['ms_per_iter_median'],
               speedup=round(eager['ms_per_iter_median'] / compiled['ms_per_iter_median'], 3))
    return row


def report_markdown(rows):
    lines = ['| model | compiles | graphs | graph breaks (first reason) | recompiles after step 1 (20 steps) | '
             'first step s (compile) | loss @10 eager / compiled (rel. diff) | eager ms | compiled ms | speedup |',
             '|---' * 10 + '|']
    for row in rows:
        if not row.get('compiles'):
            lines.append(f"| {row['model']} | no: {row.get('error', '')[:200]} |" + ' |' * 8)
            continue
        first_break = f" ({row['first_break'][:120]})" if row['first_break'] else ''
        lines.append(
            f"| {row['model']} | yes | {row['graphs']} | {row['graph_breaks']}{first_break} | {row['recompiles']} | "
            f"{row['first_step_s']} ({row['compile_s']}) | {row['eager_loss']} / {row['compiled_loss']} "
            f"({row['loss_rel_diff']:.2%}) | {row['eager_ms']} | {row['compiled_ms']} | {row['speedup']} |")
    speedups = [row['speedup'] for row in rows if row.get('compiles')]
    if speedups:
        lines.append(f'\nGeometric mean speedup over the {len(speedups)} compiled models: '
                     f'{geometric_mean(speedups):.3f}x.')
    return '\n'.join(lines) + '\n'
