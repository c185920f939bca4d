"""One table of trained runs: best mIoU vs the official one, time and memory.

    python summarize.py [--work-dirs work_dirs] [--out results.md]     # every work_dirs/*_ade20k/
    python summarize.py work_dirs/fcn_ade20k my_runs/swin_try ...       # these runs
    python summarize.py --html report.html                              # and one HTML page of them (curves,
                                                                        # per-class IoU, prediction panels)

Writes results.md (model, run, best mIoU, its iteration, official mIoU, difference, training time, peak GPU memory)
and results.png, a bar chart of ours vs official. Official mIoUs are each train_<model>.py's OFFICIAL['miou'], the one
place they are written. A smoke run (--smoke: a few iterations on the generated tiny subset) is listed as one, beside
the official mIoU but never compared with it. run_all.py summarises exactly the runs of its collection this way.
"""
import argparse
import glob
import os
import re
import sys

from training.checkpoints import read_scalars
from training.experiments import official_of
from training.paths import WORK_DIR, model_of_work_dir, work_dir_for
from training.smoke import SMOKE_DATA_ROOT

SMOKE_NOTE = ('smoke runs (--smoke: a few iterations on the generated tiny subset) are not comparable with the '
              'official mIoU: no difference is given for them.')


def is_smoke_run(work_dir):
    """Whether the run trained on the generated tiny subset, as the config MMEngine dumped into its work dir says
    (else: as its name says)."""
    for dumped in glob.glob(os.path.join(work_dir, '*.py')):
        with open(dumped) as f:
            match = re.search(r"^data_root = '(.*)'$", f.read(), re.MULTILINE)
        if match:
            return os.path.normpath(SMOKE_DATA_ROOT) in os.path.normpath(match.group(1))
    return work_dir.rstrip('/').endswith('_smoke')


def summarize_run(work_dir):
    """Best mIoU, its iteration, training hours and peak memory of one work dir, from MMEngine's scalars."""
    records = read_scalars(work_dir)
    vals = [r for r in records if 'mIoU' in r]
    if not vals:
        return None
    best = max(vals, key=lambda r: r['mIoU'])
    train = {r['step']: r for r in records if 'loss' in r}  # one record per logged step (resumes deduplicated)
    steps = sorted(train)
    # each logged record's 'time' is the mean step time over its logging interval
    seconds = sum(train[s]['time'] * (s - p) for p, s in zip([0] + steps, steps))
    memory = max((r.get('memory', 0) for r in train.values()), default=0)
    return dict(best_miou=best['mIoU'], best_iter=best['step'], hours=seconds / 3600, memory_mb=memory or None,
                smoke=is_smoke_run(work_dir), iterations=steps[-1] if steps else 0)


def collect(runs):
    """Rows of the validated runs among `runs`, [(model, work dir)]."""
    rows = []
    for model, work_dir in runs:
        run = summarize_run(work_dir)
        if run:
            rows.append(dict(model=model, work_dir=work_dir, official=official_of(model).get('miou'), **run))
    return rows


def write_table(rows, out):
    def number(value, fmt):
        return format(value, fmt) if value is not None else '—'
    lines = ['| model | run | best mIoU | at iteration | official mIoU | difference | training time (h) | '
             'peak memory (MB) |', '|---' * 8 + '|']
    for r in rows:
        diff = None if r['smoke'] or r['official'] is None else r['best_miou'] - r['official']
        kind = 'smoke' if r['smoke'] else 'full'
        lines.append(f"| {r['model']} | {kind} | {r['best_miou']:.2f} | {r['best_iter']} | "
                     f"{number(r['official'], '.2f')} | {'— (smoke run)' if r['smoke'] else number(diff, '+.2f')} | "
                     f"{r['hours']:.2f} | {number(r['memory_mb'], '.0f')} |")
    if any(r['smoke'] for r in rows):
        lines += ['', f'Note: {SMOKE_NOTE}']
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return lines


def write_chart(rows, out):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(rows) + 2), 4))
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [r['best_miou'] for r in rows], 0.4, label='ours (best)')
    ax.bar([i + 0.2 for i in x], [0 if r['smoke'] else r['official'] or 0 for r in rows], 0.4, label='official')
    ax.set_xticks(list(x), [r['model'] + (' (smoke)' if r['smoke'] else '') for r in rows], rotation=45, ha='right')
    ax.set_ylabel('mIoU (ADE20K val)')
    if any(r['smoke'] for r in rows):
        ax.set_title('smoke runs: tiny subset, not comparable with the official mIoU', fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def write_summary(runs, out, html=None):
    """results.md and results.png beside it for `runs` ([(model, work dir)]), and the HTML page at `html` where
    given; the table's lines, [] where no run of them has validated yet."""
    rows = collect(runs)
    if not rows:
        return []
    lines = write_table(rows, out)
    write_chart(rows, os.path.splitext(out)[0] + '.png')
    if html:
        from training.html_report import write_html
        write_html(rows, html, SMOKE_NOTE if any(r['smoke'] for r in rows) else None)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='*', help='work dirs of runs (default: every <work-dirs>/*_ade20k)')
    parser.add_argument('--work-dirs', default='work_dirs', help='folder holding <model>_ade20k runs')
    parser.add_argument('--out', default='results.md', help='Markdown table (the chart goes beside it, .png)')
    parser.add_argument('--html', metavar='FILE', help='also one self-contained HTML page of the runs')
    args = parser.parse_args(argv)
    runs = args.runs or sorted(glob.glob(os.path.join(args.work_dirs, os.path.basename(work_dir_for(WORK_DIR, '*')))))
    lines = write_summary([(model_of_work_dir(work_dir), work_dir) for work_dir in runs], args.out, args.html)
    if not lines:
        where = ' '.join(args.runs) if args.runs else f'{args.work_dirs}/*_ade20k/'
        print(f'error: no validated run in {where} yet (train one with python train_fcn.py).', file=sys.stderr)
        return 2
    print('\n'.join(lines))
    print(f'saved: {args.out}, {os.path.splitext(args.out)[0]}.png' + (f', {args.html}' if args.html else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
