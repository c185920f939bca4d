"""One table of every model trained here: best mIoU vs the official one, time and memory.

    python summarize.py [--work-dirs work_dirs] [--out results.md]

Scans work_dirs/*_ade20k/ and writes results.md (model, best mIoU, its iteration, official mIoU,
difference, training time, peak GPU memory) and results.png, a bar chart of ours vs official.
Official mIoUs are each train_<model>.py's OFFICIAL['miou'], the one place they are written.
"""
import argparse
import glob
import os
import sys

from training.checkpoints import read_scalars
from training.experiments import official_of


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
    return dict(best_miou=best['mIoU'], best_iter=best['step'], hours=seconds / 3600, memory_mb=memory or None)


def collect(work_dirs):
    rows = []
    for work_dir in sorted(glob.glob(os.path.join(work_dirs, '*_ade20k'))):
        run = summarize_run(work_dir)
        if run:
            model = os.path.basename(work_dir)[:-len('_ade20k')]
            rows.append(dict(model=model, official=official_of(model).get('miou'), **run))
    return rows


def write_table(rows, out):
    def number(value, fmt):
        return format(value, fmt) if value is not None else '—'
    lines = ['| model | best mIoU | at iteration | official mIoU | difference | training time (h) | peak memory (MB) |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        diff = r['best_miou'] - r['official'] if r['official'] is not None else None
        lines.append(f"| {r['model']} | {r['best_miou']:.2f} | {r['best_iter']} | {number(r['official'], '.2f')} | "
                     f"{number(diff, '+.2f')} | {r['hours']:.2f} | {number(r['memory_mb'], '.0f')} |")
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
    ax.bar([i + 0.2 for i in x], [r['official'] or 0 for r in rows], 0.4, label='official')
    ax.set_xticks(list(x), [r['model'] for r in rows], rotation=45, ha='right')
    ax.set_ylabel('mIoU (ADE20K val)')
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dirs', default='work_dirs', help='folder holding <model>_ade20k runs')
    parser.add_argument('--out', default='results.md', help='Markdown table (the chart goes beside it, .png)')
    args = parser.parse_args(argv)
    rows = collect(args.work_dirs)
    if not rows:
        print(f'error: no validated run in {args.work_dirs}/*_ade20k/ yet (train one with python train_fcn.py).',
              file=sys.stderr)
        return 2
    print('\n'.join(write_table(rows, args.out)))
    write_chart(rows, os.path.splitext(args.out)[0] + '.png')
    print(f'saved: {args.out}, {os.path.splitext(args.out)[0]}.png')
    return 0


if __name__ == '__main__':
    sys.exit(main())
