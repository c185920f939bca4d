"""Segments images with a trained checkpoint: a coloured mask and an overlay with a legend per image.

    python infer.py work_dirs/fcn_ade20k demo.jpg                  # the run's best checkpoint
    python infer.py work_dirs/fcn_ade20k/iter_80000.pth photos/ --out predictions/
    python infer.py model.pth list.txt --model fcn --device cuda   # list.txt: one image path per line
    python infer.py --onnx work_dirs/fcn_ade20k/export/best_mIoU_iter_80000.onnx demo.jpg   # export.py's file

Writes <out>/<image>_mask.png (ADE20K palette) and <out>/<image>_overlay.png (image + mask, and a
legend of the classes present). Works on CPU. With --onnx, onnxruntime runs the exported file (export.py) with the
preprocessing, classes and palette its metadata holds, and the drawing is the same.
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

from training.errors import UserError, exit_code
from training.precision import inference_precision
from training.trained import trained_segmentor
from training.visualization import legend

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def list_images(source):
    """An image, a folder of images, or a text file listing one image per line."""
    if os.path.isdir(source):
        return sorted(os.path.join(source, f) for f in os.listdir(source) if f.lower().endswith(IMAGE_SUFFIXES))
    if source.lower().endswith('.txt'):
        with open(source) as f:
            return [line.strip() for line in f if line.strip()]
    return [source]


def segment(segmentor, image_path, out_dir, amp=False):
    """Writes the mask and the overlay of one image; returns their paths and the classes present. `amp`: under
    autocast (bf16 on the CPU)."""
    from mmseg.apis import inference_model
    with inference_precision(next(segmentor.parameters()).device.type, amp):
        labels = inference_model(segmentor, image_path).pred_sem_seg.data[0].cpu().numpy()
    return draw(image_path, labels, segmentor.dataset_meta['classes'], segmentor.dataset_meta['palette'], out_dir)


def segment_onnx(runner, properties, image_path, out_dir):
    """segment() with an exported ONNX file (`runner`: its onnxruntime session, `properties`: its metadata): the
    image at the file's input size (a dynamic file: its own size), the labels back at the image's size."""
    from training.onnx_export import normalized
    image = np.asarray(Image.open(image_path).convert('RGB'))
    size = image.shape[:2] if properties['size'] == 'dynamic' else tuple(map(int, properties['size'].split('x')))
    output = runner.run(None, {'image': normalized(image, json.loads(properties['mean']),
                                                   json.loads(properties['std']), size)})[0][0]
    labels = output if output.ndim == 2 else output.argmax(0)
    labels = np.asarray(Image.fromarray(labels.astype(np.uint8)).resize((image.shape[1], image.shape[0]),
                                                                        Image.NEAREST))
    return draw(image_path, labels, json.loads(properties['classes']), json.loads(properties['palette']), out_dir)


def draw(image_path, labels, classes, palette, out_dir):
    """The mask (palette colours) and the overlay with a legend of the classes present, saved in `out_dir`."""
    palette = np.asarray(palette, np.uint8)
    mask = palette[labels]
    image = np.asarray(Image.open(image_path).convert('RGB'))
    overlay = (0.5 * image + 0.5 * mask).astype(np.uint8)
    present = [int(c) for c, _ in sorted(zip(*np.unique(labels, return_counts=True)), key=lambda cc: -cc[1])]
    key = legend(overlay.shape[0], classes, palette, present)
    canvas = Image.new('RGB', (overlay.shape[1] + key.width, max(overlay.shape[0], key.height)), 'white')
    canvas.paste(Image.fromarray(overlay), (0, 0))
    canvas.paste(key, (overlay.shape[1], 0))
    stem = os.path.join(out_dir, os.path.splitext(os.path.basename(image_path))[0])
    Image.fromarray(mask).save(stem + '_mask.png')
    canvas.save(stem + '_overlay.png')
    return stem + '_mask.png', stem + '_overlay.png', [classes[c] for c in present]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('paths', nargs='+', metavar='CHECKPOINT IMAGES',
                        help='a checkpoint file or a work dir (its best-mIoU checkpoint), then an image, a folder of '
                             'images, or a .txt list of image paths (with --onnx: the images only)')
    parser.add_argument('--onnx', metavar='FILE', help='run this ONNX file (export.py) in onnxruntime instead')
    parser.add_argument('--out', default='predictions', help='output folder (default: predictions/)')
    parser.add_argument('--model', help='configs/<model>.py to use when the checkpoint does not record its config')
    parser.add_argument('--device', default='cpu', help='cpu (default) or cuda')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bf16 autocast on the CPU, on a GPU bf16 where supported, else fp16')
    parser.add_argument('--debug', action='store_true', help='show full tracebacks on errors')
    args = parser.parse_args(argv)
    if len(args.paths) != (1 if args.onnx else 2):
        parser.error('give the images (one path) with --onnx, else a checkpoint and the images')
    source = args.paths[-1]

    def segment_all():
        images = list_images(source)
        missing = [p for p in images if not os.path.isfile(p)]
        if not images or missing:
            raise UserError(f'No image to segment at {", ".join(missing[:3]) or source}.')
        if args.onnx:
            from training.onnx_export import onnx_runner
            runner, properties = onnx_runner(args.onnx)
            run = lambda image_path: segment_onnx(runner, properties, image_path, args.out)  # noqa: E731
        else:
            segmentor, _ = trained_segmentor(args.paths[0], args.model, args.device)
            run = lambda image_path: segment(segmentor, image_path, args.out, args.amp)  # noqa: E731
        os.makedirs(args.out, exist_ok=True)
        for image_path in images:
            mask, overlay, present = run(image_path)
            print(f'{image_path}: {overlay} ({", ".join(present[:6])}{" ..." if len(present) > 6 else ""})')
        return 0
    return exit_code(segment_all, args.debug)


if __name__ == '__main__':
    sys.exit(main())
