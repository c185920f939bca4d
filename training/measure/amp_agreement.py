"""The --amp agreement benchmark (--amp-agreement): does a model learn the same in bf16 as in fp32? `--smoke --iters N`
from one seed in fp32 and with --amp, and in fp32 from a second seed (the spread a different draw gives): the
loss curves' relative differences, and the mIoU each run ends with."""
import os
import subprocess
import sys
import tempfile

from ..checkpoints import read_scalars
from ..paths import REPO_ROOT, script_path

RUNS = {'fp32': [], 'bf16': ['--amp'], 'fp32 seed 1': ['--seed', '1']}


def _losses_and_miou(model, iters, extra, work_dir):
    command = [sys.executable, script_path(model), '--smoke', '--iters', str(iters), '--no-val-report',
               '--work-dir', work_dir, *extra]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode:
        tail = (result.stderr.strip().splitlines() or ['no output'])[-1]
        raise RuntimeError(f'{model} {" ".join(extra)}: exit {result.returncode}: {tail[:300]}')
    records = read_scalars(work_dir)
    losses = [record['loss'] for record in records if 'loss' in record]
    miou = [record['mIoU'] for record in records if 'mIoU' in record]
    return losses, miou[-1] if miou else None


def relative_differences(losses, reference):
    """(the largest, the mean over the last quarter) of |loss - reference| / reference, iteration by iteration."""
    each = [abs(a - b) / abs(b) for a, b in zip(losses, reference)]
    last = each[-max(1, len(each) // 4):]
    return round(max(each), 4), round(sum(last) / len(last), 4)


def amp_agreement(model, iters=40):
    curves = {}
    for label, extra in RUNS.items():
        with tempfile.TemporaryDirectory(prefix=f'amp_{model}_') as work_dir:
            curves[label] = _losses_and_miou(model, iters, extra, os.path.join(work_dir, 'run'))
    fp32 = curves['fp32'][0]
    bf16_max, bf16_last = relative_differences(curves['bf16'][0], fp32)
    seed_max, seed_last = relative_differences(curves['fp32 seed 1'][0], fp32)
    return dict(benchmark='amp agreement', model=model, iters=iters,
                bf16_vs_fp32_max=bf16_max, bf16_vs_fp32_last_quarter=bf16_last,
                seed1_vs_seed0_max=seed_max, seed1_vs_seed0_last_quarter=seed_last,
                final_loss={label: round(losses[-1], 4) for label, (losses, _) in curves.items()},
                miou={label: miou for label, (_, miou) in curves.items()})
