"""Exports a trained checkpoint to ONNX and checks the file in onnxruntime against PyTorch.

    python export.py work_dirs/fcn_ade20k                       # the run's best checkpoint, 512x512
    python export.py work_dirs/fcn_ade20k/iter_80000.pth --dynamic     # height and width dynamic
    python export.py work_dirs/segformer_ade20k --shape 640x640 --argmax   # labels instead of logits

Writes <work dir>/export/<checkpoint name>.onnx: a normalized RGB image batch in, per-pixel class logits (or labels)
out, standard ONNX ops at opset 17, the preprocessing constants, class names and palette in its metadata
(training/onnx_export.py). Then runs it in onnxruntime (CPU) and the PyTorch model on the same --images validation
images of the run's dataset (the tiny subset's where the run trained on it), prints the largest logit difference,
the share of pixels whose label agrees, both mIoUs and both latencies, and exits 1 if fewer than 99.9% of the labels
agree. Run the file with `python infer.py --onnx <file> <images>`, with onnxruntime, or with TensorRT's ONNX parser.
"""
import argparse
import json
import os
import sys

from training.errors import UserError, exit_code
from training.onnx_export import AGREEMENT, OPSET, check, export, validation_samples
from training.trained import trained_segmentor
from training.run_summary import model_of_run


def parse_shape(text):
    try:
        height, width = (int(part) for part in text.lower().split('x'))
        return height, width
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not HEIGHTxWIDTH, e.g. 512x512')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='a checkpoint file, or a work dir (its best-mIoU checkpoint)')
    parser.add_argument('--format', default='onnx', choices=('onnx',), help='the file format (onnx)')
    parser.add_argument('--shape', type=parse_shape, default=(512, 512), metavar='HxW',
                        help='the input size the file is made and checked at (default 512x512, the protocol\'s crop)')
    parser.add_argument('--dynamic', action='store_true',
                        help='height, width and batch dynamic; checked at --shape and at a second size')
    parser.add_argument('--argmax', action='store_true', help='the file returns labels (N, H, W) instead of logits')
    parser.add_argument('--images', type=int, default=8, help='validation images to check on (default 8)')
    parser.add_argument('--out', help='the .onnx file (default <work dir>/export/<checkpoint name>.onnx)')
    parser.add_argument('--model', help='configs/<model>.py to use when the checkpoint does not record its config')
    parser.add_argument('--json', action='store_true', help='also one JSON line of the checks (tools/export_report.py)')
    parser.add_argument('--debug', action='store_true', help='show full tracebacks on errors')
    args = parser.parse_args(argv)

    def export_and_check():
        segmentor, checkpoint_path = trained_segmentor(args.checkpoint, args.model)
        work_dir = os.path.dirname(os.path.abspath(checkpoint_path))
        name = args.model or segmentor.cfg.get('experiment') or model_of_run(work_dir)
        out = args.out or os.path.join(work_dir, 'export', os.path.splitext(os.path.basename(checkpoint_path))[0]
                                       + '.onnx')
        export(segmentor, out, args.shape, name, checkpoint_path, args.argmax, args.dynamic)
        print(f'{out}: {name} ({checkpoint_path}), opset {OPSET}, input '
              f'{"dynamic (N, 3, H, W)" if args.dynamic else f"(N, 3, {args.shape[0]}, {args.shape[1]})"}, output '
              f'{"labels" if args.argmax else "logits"}')
        samples = validation_samples(segmentor.cfg, args.images)
        if not samples:
            root = segmentor.cfg.val_dataloader.dataset.get('data_root')
            raise UserError(f'no validation images to check the file on: {root} has none. The file is written, not '
                            f'checked; make the data available (make data) and run the same command again.')
        sizes = [args.shape] + ([(args.shape[0] + 64, args.shape[1] - 32)] if args.dynamic else [])
        failed, checks = False, []
        for size in sizes:
            try:
                result = check(segmentor, out, samples, size, args.argmax)
            except Exception as error:  # (onnxruntime: a shape the traced graph holds as a constant)
                if size == args.shape:
                    raise
                raise UserError(f'{name} cannot be exported with a dynamic height and width: at {size[0]}x{size[1]} '
                                f'onnxruntime fails ({type(error).__name__}: {str(error).splitlines()[0][:160]}); '
                                f'export it without --dynamic, at the size it will run at (--shape).') from error
            difference = ('' if result['max_logit_difference'] is None
                          else f'largest logit difference {result["max_logit_difference"]:.2e}, ')
            print(f'check at {size[0]}x{size[1]} on {result["images"]} validation images: {difference}labels agree on '
                  f'{100 * result["agreement"]:.3f}% of the pixels; mIoU onnxruntime {result.get("onnxruntime_miou")} '
                  f'/ PyTorch {result.get("pytorch_miou")}; latency onnxruntime {result["onnxruntime_ms"]} ms / '
                  f'PyTorch {result["pytorch_ms"]} ms per image (CPU)')
            checks.append(dict(result, size=f'{size[0]}x{size[1]}'))
            if result['agreement'] < AGREEMENT:
                failed = True
                print(f'error: at {size[0]}x{size[1]} the labels of the ONNX file agree with PyTorch\'s on only '
                      f'{100 * result["agreement"]:.3f}% of the pixels (at least {100 * AGREEMENT:.1f}% needed): '
                      f'the file is not a faithful export. Report it with the command above.', file=sys.stderr)
        if args.json:
            print(json.dumps(dict(model=name, file=out, opset=OPSET, dynamic=args.dynamic, checks=checks)))
        return 1 if failed else 0
    return exit_code(export_and_check, args.debug)


if __name__ == '__main__':
    sys.exit(main())
