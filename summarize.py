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
import sys

from training.paths import WORK_DIR, work_dir_for
from training.run_summary import collect, model_of_run

SMOKE_NOTE = ('smoke runs (--smoke: a few iterations on the generated tiny subset) are not comparable with the '
              'official mIoU: no difference is given for them.')


def write_table(rows, out):
    def number(value, fmt):
        return format(value, fmt) if value is not None else '—'
    lines = ['| model | run | best mIoU | at iteration | official mIoU | difference | training time (h) | '
             'peak memory (MB) | val loss at best |', '|---' * 9 + '|']
    for r in rows:
        diff = None if r['smoke'] or r['official'] is None else r['best_miou'] - r['official']
        kind = 'smoke' if r['smoke'] else 'full'
        lines.append(f"| {r['model']} | {kind} | {r['best_miou']:.2f} | {r['best_iter']} | "
                     f"{number(r['official'], '.2f')} | {'— (smoke run)' if r['smoke'] else number(diff, '+.2f')} | "
                     f"{r['hours']:.2f} | {number(r['memory_mb'], '.0f')} | {number(r.get('best_val_loss'), '.3f')} |")
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
    lines = write_summary([(model_of_run(work_dir), work_dir) for work_dir in runs], args.out, args.html)
    if not lines:
        where = ' '.join(args.runs) if args.runs else f'{args.work_dirs}/*_ade20k/'
        print(f'error: no validated run in {where} yet (train one with python train_fcn.py).', file=sys.stderr)
        return 2
    print('\n'.join(lines))
    print(f'saved: {args.out}, {os.path.splitext(args.out)[0]}.png' + (f', {args.html}' if args.html else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
