"""The command line every train_<name>.py shares, and the command that reruns it with other choices. Flags win over
the script's knobs; --cfg-options wins over both."""
import argparse
import os
import shlex
import sys


def parse_args(name, argv=None):
    from mmengine.config import DictAction

    from .paths import DATA_ROOT, WORK_DIR, work_dir_for
    from .smoke import SMOKE_DATA_ROOT
    parser = argparse.ArgumentParser(
        description=f'Train {name} on ADE20K (train_{name}.py). Run it again to continue from the last checkpoint.')
    parser.add_argument('--work-dir', help=f'where checkpoints and logs go (default {work_dir_for(WORK_DIR, name)}); '
                                           '{name} in it stands for the model\'s name')
    parser.add_argument('--data-root', help=f'ADEChallengeData2016 directory (default {DATA_ROOT})')
    parser.add_argument('--iters', type=int, help="total training iterations (default: the script's max_iters)")
    parser.add_argument('--total-batch', type=int, metavar='N',
                        help='images per optimizer step: keeps the batch per GPU and accumulates gradients over '
                             'N / (GPUs x batch per GPU) iterations; --iters and the LR schedule then count '
                             'optimizer steps, as the official recipe does')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training: on a GPU bf16 where supported, else fp16 with loss scaling; '
                             'on the CPU bf16 autocast (fp32 weights either way; a run continues with or without it)')
    parser.add_argument('--compile', action='store_true',
                        help="torch.compile the model's tensor path in place (backbone, neck, heads; the first step "
                             'compiles: about a minute per model on a CPU); validation runs eager; a run continues '
                             'with or without it')
    parser.add_argument('--compile-mode', choices=('default', 'reduce-overhead', 'max-autotune'),
                        help="--compile with this torch.compile mode (reduce-overhead: CUDA graphs on a GPU)")
    parser.add_argument('--log-to', metavar='TRACKERS',
                        help='where the run logs besides the local JSON: tensorboard, wandb, mlflow, comma-separated '
                             "(default: the script's cfg.log_to, else tensorboard); W&B offline without WANDB_API_KEY, "
                             'MLflow at MLFLOW_TRACKING_URI or in the work dir (trackers.py)')
    parser.add_argument('--channels-last', action='store_true', help='NHWC memory format for conv layers')
    parser.add_argument('--no-tf32', action='store_true',
                        help='full fp32 matmuls on the GPU (by default TF32 tensor cores are used, as PyTorch '
                             'already does for cuDNN convolutions)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, metavar='KEY=VALUE',
                        help='override config keys, MMSeg syntax, e.g. optim_wrapper.optimizer.lr=0.02')
    parser.add_argument('--no-pretrain', action='store_true', help='train from randomly initialised weights')
    parser.add_argument('--pretrain', metavar='PATH',
                        help='another weight file of the same format as the one configs/<model>.py names')
    parser.add_argument('--no-download', action='store_true',
                        help='never download a missing weight file (also: ADE_SEG_NO_DOWNLOAD=1); say how to get it')
    parser.add_argument('--check-pretrain', action='store_true',
                        help='build the model, load its pretrained weights, report how many tensors loaded, exit')
    parser.add_argument('--print-config', action='store_true', help='print the resolved config and exit')
    parser.add_argument('--smoke', action='store_true',
                        help=f'a few iterations on the tiny generated subset ({SMOKE_DATA_ROOT}), crop and resizes '
                             'scaled by 1/8, no pretrained weights (unless --pretrain), then one validation')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help="scale the LR by (GPUs x batch per GPU) / the official recipe's total batch")
    parser.add_argument('--restart', action='store_true',
                        help='start over instead of continuing; the old work dir is kept, renamed')
    parser.add_argument('--resume-with-new-config', action='store_true',
                        help='continue a run whose config was edited since: weights and optimizer state from the '
                             'last checkpoint, everything else (LR, schedule, data...) from the edited config')
    parser.add_argument('--stretch-schedule', action='store_true',
                        help='with a larger --iters than the run was trained for: continue with the LR schedule '
                             'stretched to the new length, as if it had been planned so from the start')
    parser.add_argument('--keep-schedule', action='store_true',
                        help='with a larger --iters: continue with the schedule the run had, even where it has ended '
                             '(the LR stays at its final value)')
    parser.add_argument('--dist-timeout', type=int, metavar='SECONDS',
                        help='with several processes (torchrun, srun): how long a collective waits for a peer that '
                             'stopped answering before the run ends and says which one (default: the config\'s '
                             'env_cfg.dist_cfg.timeout, else 600)')
    parser.add_argument('--allow-cpu', action='store_true',
                        help='train on the CPU although a GPU is present that torch cannot use')
    parser.add_argument('--seed', type=int, metavar='N',
                        help="the run's random seed (default: the recipe's own, else 0): initialisation, sample order, "
                             'augmentations and the model\'s randomness all follow from it')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic GPU kernels (cuDNN, cuBLAS, PyTorch\'s deterministic algorithms, a warning '
                             'where an op has none): the same weights on the same GPU model and software stack, '
                             'slower; on the CPU runs are bit for bit the same anyway')
    parser.add_argument('--no-val-report', action='store_true',
                        help='no prediction panels and per-class IoU at each validation (on by default: '
                             '<work dir>/validation/ and TensorBoard; --cfg-options val_report.images=8 shows more)')
    parser.add_argument('--debug', action='store_true', help='show full tracebacks on errors')
    args = parser.parse_args(argv)
    if args.no_pretrain and args.pretrain:
        parser.error('--pretrain and --no-pretrain contradict each other: use one')
    if args.stretch_schedule and args.keep_schedule:
        parser.error('--stretch-schedule and --keep-schedule contradict each other: use one')
    return args


def rerun_command(extra):
    """The command of this process with `extra` arguments instead of its own choice of how to continue (and of its
    --work-dir, where `extra` names one), as the user would type it."""
    argv, kept = sys.argv[1:], []
    while argv:
        arg = argv.pop(0)
        if arg in ('--restart', '--resume-with-new-config', '--stretch-schedule', '--keep-schedule'):
            continue
        if '--work-dir' in extra and arg.startswith('--work-dir'):
            if arg == '--work-dir' and argv:
                argv.pop(0)
            continue
        kept.append(arg)
    return 'python ' + ' '.join(shlex.quote(arg) for arg in [os.path.basename(sys.argv[0])] + kept + extra)
