"""Evaluates a checkpoint on ADE20K val: mIoU, aAcc, mAcc and per-class IoU, as a table, JSON and Markdown.

    python evaluate.py work_dirs/fcn_ade20k                    # the run's best-mIoU checkpoint
    python evaluate.py work_dirs/fcn_ade20k/iter_80000.pth --aug-test
    python evaluate.py downloaded.pth --model fcn              # a checkpoint that does not record its config

Results go beside the checkpoint: eval_<checkpoint>[_aug].json and .md.
"""
import argparse
import json
import math
import os
import sys

from training.checkpoints import checkpoint_trust
from training.config import data_root_of, set_data_root
from training.data.dataset_check import check_data_root
from training.errors import exit_code
from training.precision import inference_precision
from training.trained import load_trained


def _register_per_class_metric():
    from mmseg.evaluation import IoUMetric
    from mmseg.registry import METRICS

    @METRICS.register_module(force=True)
    class IoUWithPerClass(IoUMetric):
        """MMSeg's IoUMetric, also returning each class's IoU (it only prints them)."""

        def compute_metrics(self, results):
            metrics = super().compute_metrics(results)
            intersect = sum(r[0] for r in results)
            union = sum(r[1] for r in results)
            for name, i, u in zip(self.dataset_meta['classes'], intersect.tolist(), union.tolist()):
                metrics[f'IoU.{name}'] = round(100 * i / u, 2) if u else float('nan')
            return metrics


def evaluate(path, model=None, data_root=None, aug_test=False, amp=False):
    """{'aAcc', 'mIoU', 'mAcc', 'IoU.<class>'...} of a checkpoint (or a work dir's best) on ADE20K val; `amp`:
    under autocast (bf16 on the CPU)."""
    import torch
    from mmengine.runner import Runner
    checkpoint_path, checkpoint, cfg = load_trained(path, model)
    del checkpoint
    if data_root:
        set_data_root(cfg, data_root)
    check_data_root(data_root_of(cfg), model or 'fcn')
    _register_per_class_metric()
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = dict(type='IoUWithPerClass', iou_metrics=['mIoU'])
    if aug_test:  # MMSeg's flip + multi-scale test, as its tools/test.py --tta does it
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    cfg.work_dir = os.path.join(os.path.dirname(os.path.abspath(checkpoint_path)), 'eval')
    cfg.load_from, cfg.resume, cfg.launcher = checkpoint_path, False, 'none'
    cfg.default_hooks.pop('visualization', None)
    with checkpoint_trust(checkpoint_path):
        runner = Runner.from_cfg(cfg)
        with inference_precision('cuda' if torch.cuda.is_available() else 'cpu', amp):
            metrics = runner.test()
    return checkpoint_path, metrics


def write_reports(checkpoint_path, metrics, aug_test):
    """Prints the table and writes eval_<checkpoint>[_aug].json/.md beside the checkpoint; returns their paths."""
    per_class = {k[len('IoU.'):]: v for k, v in metrics.items() if k.startswith('IoU.')}
    present = {name: iou for name, iou in per_class.items() if not math.isnan(iou)}
    summary = {k: float(metrics[k]) for k in ('aAcc', 'mIoU', 'mAcc')}
    stem = os.path.join(os.path.dirname(checkpoint_path),
                        f'eval_{os.path.basename(checkpoint_path)[:-len(".pth")]}{"_aug" if aug_test else ""}')
    with open(stem + '.json', 'w') as f:
        json.dump({'checkpoint': checkpoint_path, 'aug_test': aug_test, **summary,
                   'per_class_IoU': {k: (None if math.isnan(v) else v) for k, v in per_class.items()}}, f, indent=1)
    lines = [f'# {checkpoint_path}{" (flip + multi-scale)" if aug_test else ""}', '',
             '| aAcc | mIoU | mAcc |', '|---|---|---|', f'| {summary["aAcc"]:.2f} | {summary["mIoU"]:.2f} | '
             f'{summary["mAcc"]:.2f} |', '', '| class | IoU |', '|---|---|']
    lines += [f'| {name} | {iou:.2f} |' for name, iou in sorted(present.items(), key=lambda kv: -kv[1])]
    with open(stem + '.md', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines[2:]))
    print(f'({len(per_class) - len(present)} classes absent from this validation set)\nsaved: {stem}.json, {stem}.md')
    return stem + '.json', stem + '.md'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='a checkpoint file, or a work dir (its best-mIoU checkpoint)')
    parser.add_argument('--model', help='configs/<model>.py to use when the checkpoint does not record its config')
    parser.add_argument('--data-root', help='ADEChallengeData2016 directory (default: the one it was trained with)')
    parser.add_argument('--aug-test', action='store_true', help="MMSeg's flip + multi-scale test")
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bf16 autocast on the CPU, on a GPU bf16 where supported, else fp16')
    parser.add_argument('--debug', action='store_true', help='show full tracebacks on errors')
    args = parser.parse_args(argv)

    def evaluate_and_report():
        checkpoint_path, metrics = evaluate(args.checkpoint, args.model, args.data_root, args.aug_test, args.amp)
        write_reports(checkpoint_path, metrics, args.aug_test)
        return 0
    return exit_code(evaluate_and_report, args.debug)


if __name__ == '__main__':
    sys.exit(main())
