"""The benchmarks' command line (tools/benchmark.py): training speed of a train_<model>.py config, optionally
against MMSeg's official tools/train.py path (training_speed.py), and two more (data_pipeline.py,
validation_report_cost.py); the timing machinery they share: timing.py.

    python tools/benchmark.py fcn                        # one JSON line: ms/iter, data wait, memory, GFLOPs
    python tools/benchmark.py fcn --vs-official          # ours and official in the same run, ratio ours/official
    python tools/benchmark.py all --vs-official --markdown bench.md
    python tools/benchmark.py --data-pipeline            # images/s of the ADE20K train pipeline per worker
    python tools/benchmark.py --validation-report        # what the validation's panels and per-class IoU cost
    python tools/benchmark.py fcn swin --amp-agreement   # fp32 and --amp (bf16 on the CPU) learn the same?
    python tools/benchmark.py --compile fcn segformer     # eager, --compile and official, paired: the speedup
    python tools/benchmark.py all --compile-report --markdown docs/compile_report.md   # every model compiled

Ours is exactly the config train_<model>.py trains with (its config() + the command-line switches);
official is MMSeg's config as tools/train.py would run it, plus only the protocol overrides (data root,
batch 2 per GPU, crop, iterations). Both train the same data without pretrained weights (random init
costs the same), validation and checkpoints off, each in its own process (so peak memory is its own).
On a GPU the crop is the protocol's 512x512; on a CPU it defaults to 128x128 to keep a run short.
"""
import argparse
import json

from ..experiments import all_names
from ..smoke import SMOKE_DATA_ROOT
from .amp_agreement import amp_agreement
from .compile_speed import comparison_line, compile_comparison, compile_report_row, geometric_mean, report_markdown
from .data_pipeline import data_pipeline
from .training_speed import child_argv, compare, markdown, measure, measure_paired
from .validation_report_cost import validation_loss_cost, validation_report_cost

MODELS = all_names()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('models', nargs='*', help=f'model names (train_<model>.py) or "all": {" ".join(MODELS)}')
    parser.add_argument('--iters', type=int, default=10, help='timed iterations (default 10)')
    parser.add_argument('--warmup', type=int, default=5, help='untimed iterations first (default 5; on a CPU the '
                        'first ~5 steps are slower)')
    parser.add_argument('--crop', type=int, help='crop size (default 512 on a GPU, 128 on a CPU)')
    parser.add_argument('--data-root', default=SMOKE_DATA_ROOT,
                        help=f'ADE20K-format data (default the tiny subset {SMOKE_DATA_ROOT}, generated '
                             'if missing; the pipeline resizes every image to ADE scale anyway)')
    parser.add_argument('--amp', action='store_true', help='ours with --amp, official with tools/train.py --amp')
    parser.add_argument('--compile', action='store_true',
                        help='eager, --compile and official MMSeg in one process, one step each in turn: one line '
                             'per model with the speedup, recompiles and graph breaks (compile_speed.py)')
    parser.add_argument('--compile-modes', nargs='+', default=['default'], metavar='MODE',
                        choices=('default', 'reduce-overhead', 'max-autotune'),
                        help='with --compile: the torch.compile modes to pair with eager (default: default); '
                             'reduce-overhead adds CUDA graphs on a GPU')
    parser.add_argument('--compile-report', action='store_true',
                        help='for the named models, eager and --compile each from the same seed: compiles?, graph '
                             'breaks, recompiles over 20 steps, first step time, loss after 10 steps, step time')
    parser.add_argument('--channels-last', action='store_true', help='ours with --channels-last')
    parser.add_argument('--vs-official', action='store_true', help='also time the official path, print the ratio')
    parser.add_argument('--repeat', type=int, default=1,
                        help='measure this many times and report the geometric mean of the ratios (a CPU shared '
                             'with other work drifts by several percent); with --paired, an even N balances which '
                             'side steps first')
    parser.add_argument('--markdown', metavar='FILE', help='also write the results as a Markdown table')
    parser.add_argument('--data-pipeline', action='store_true',
                        help='measure the ADE20K train pipeline (decode + augment) in one process instead')
    parser.add_argument('--validation-report', action='store_true',
                        help="time fcn's validation on ADE-size images with and without the prediction panels and "
                             'per-class IoU (training/visualization.py)')
    parser.add_argument('--validation-loss', action='store_true',
                        help='for the named models: what the validation loss (validation_loss.py) adds to a '
                             'validation on ADE-size images')
    parser.add_argument('--amp-agreement', action='store_true',
                        help='for the named models: --smoke --iters 40 in fp32 and with --amp (bf16 on the CPU) from '
                             'one seed, and fp32 from another: how far the loss curves differ, and the mIoU')
    parser.add_argument('--paired', action='store_true',
                        help='with --vs-official: both sides in one process, one training step each in turn, so '
                             'both see the same machine state (the tightest ratio; no memory figures)')
    parser.add_argument('--side', metavar='SIDE[+SIDE...]',
                        help='one measurement in this process (what each child runs): ours, official, or sides '
                             'joined by + to train in turn; official+official measures the noise of the method')
    args = parser.parse_args(argv)
    if args.models == ['all']:
        args.models = MODELS
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        parser.error(f'unknown model(s) {", ".join(unknown)}; known: {" ".join(MODELS)}')
    if not args.models and not args.data_pipeline and not args.validation_report:
        parser.error('name a model (or "all"), or use --data-pipeline or --validation-report')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.side:
        model, sides = args.models[0], args.side.split('+')
        print(json.dumps(measure_paired(model, args, sides) if len(sides) > 1 else measure(model, args.side, args)))
        return 0
    if args.data_pipeline:
        print(json.dumps(data_pipeline(args)), flush=True)
    if args.validation_report:
        print(json.dumps(validation_report_cost(args)), flush=True)
    if args.validation_loss:
        for model in args.models:
            print(json.dumps(validation_loss_cost(model, args)), flush=True)
        return 0
    if args.amp_agreement:
        for model in args.models:
            print(json.dumps(amp_agreement(model)), flush=True)
        return 0
    if args.compile or args.compile_report:
        return compile_benchmarks(args)
    results = []
    for model in args.models:
        results.append(compare(model, args, child_argv(args)))
        print(json.dumps(results[-1]), flush=True)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(markdown(results))
    return 1 if any('error' in r.get('ours', r) for r in results) else 0



def compile_benchmarks(args):
    rows = []
    for model in args.models:
        rows.append(compile_report_row(model, args) if args.compile_report else compile_comparison(model, args))
        print(json.dumps(rows[-1]) if args.compile_report else comparison_line(rows[-1]), flush=True)
    if args.compile and len(rows) > 1:
        speedups = [row[args.compile_modes[0]]['speedup'] for row in rows if args.compile_modes[0] in row]
        print(f'geometric mean speedup {geometric_mean(speedups):.3f} over {len(speedups)} models')
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(report_markdown(rows) if args.compile_report else '\n'.join(map(comparison_line, rows)) + '\n')
    return 1 if any('error' in row for row in rows) else 0
