"""Seeing what a model learns while it trains: at every validation, the same few validation images drawn as image |
ground truth | prediction (ADE20K palette, a legend of the classes present) and the IoU and accuracy of every class,
saved in the work dir and logged to TensorBoard under their own prefixes.

    <work_dir>/validation/iter_<N>/<image>.png     the panels of the validation at iteration N
    <work_dir>/validation/per_class.jsonl          one line per validation: step, mIoU, each class's IoU and accuracy
    TensorBoard: val_panels/<image> (images), val_per_class/IoU.<class> and val_per_class/Acc.<class> (scalars)
    W&B, MLflow (--log-to): the panels as images (W&B), the per-class figures as a table (W&B) or a JSON artifact

On by default (the config's val_report: images=4, per_class=True); `--no-val-report`, or --cfg-options
val_report.images=0 / val_report.per_class=False, turns it off. The images are chosen once per dataset (evenly spaced
over the validation set) and are the same at every validation. The per-class figures come from MMSeg's own IoUMetric
arithmetic (intersect_and_union, total_area_to_metrics) on the predictions the validation makes anyway.
infer.py draws its overlays with the same legend.
"""
import json
import os

import numpy as np
import torch
from mmengine.hooks import Hook
from PIL import Image, ImageDraw

DEFAULT = dict(images=4, per_class=True)
PANEL_HEIGHT = 256  # each of the three panels, scaled to this height
TITLE_HEIGHT = 16
IGNORED = (0, 0, 0)  # the colour of the ignored label (255) in a drawn map
TRACKER_BACKENDS = ('WandbTracker', 'MLflowTracker')  # (trackers.py) panels as images, per-class figures as a table


# ---- drawing ------------------------------------------------------------------------------------------------------
def legend(height, classes, palette, present):
    """A white panel listing the present classes with their colours."""
    row = 16
    panel = Image.new('RGB', (170, max(height, row * len(present) + 8)), 'white')
    draw = ImageDraw.Draw(panel)
    for i, label in enumerate(present):
        y = 4 + i * row
        draw.rectangle([4, y, 16, y + 12], fill=tuple(int(c) for c in palette[label]))
        draw.text((22, y), classes[label], fill='black')
    return panel


def coloured(labels, palette):
    """An (H, W) label map as an RGB image (ignored labels black)."""
    colours = np.concatenate([np.asarray(palette, np.uint8), np.zeros((256 - len(palette), 3), np.uint8)])
    colours[255] = IGNORED
    return colours[labels]


def panels(image, truth, prediction, classes, palette):
    """image | ground truth | prediction at PANEL_HEIGHT under their titles, and the legend of the classes in either
    map."""
    scale = PANEL_HEIGHT / image.shape[0]
    size = (max(1, round(image.shape[1] * scale)), PANEL_HEIGHT)
    parts = [Image.fromarray(image).resize(size, Image.BILINEAR)] + [
        Image.fromarray(coloured(labels, palette)).resize(size, Image.NEAREST) for labels in (truth, prediction)]
    labels, counts = np.unique(np.concatenate([truth.ravel(), prediction.ravel()]), return_counts=True)
    present = [int(label) for label, _ in sorted(zip(labels, counts), key=lambda lc: -lc[1]) if label < len(classes)]
    key = legend(PANEL_HEIGHT, classes, palette, present)
    canvas = Image.new('RGB', (3 * size[0] + key.width, TITLE_HEIGHT + max(PANEL_HEIGHT, key.height)), 'white')
    draw = ImageDraw.Draw(canvas)
    for index, (part, title) in enumerate(zip(parts, ('image', 'ground truth', 'prediction'))):
        draw.text((index * size[0] + 4, 2), title, fill='black')
        canvas.paste(part, (index * size[0], TITLE_HEIGHT))
    canvas.paste(key, (3 * size[0], TITLE_HEIGHT))
    return np.asarray(canvas)


def chosen_images(dataset, count):
    """The image paths of `count` validation samples evenly spaced over the set (the same for a set every time)."""
    total = len(dataset)
    indices = sorted({min(total - 1, round(i * total / count)) for i in range(count)}) if total and count else []
    return [dataset.get_data_info(index)['img_path'] for index in indices]


# ---- the hook ------------------------------------------------------------------------------------------------------
class ValidationReport(Hook):
    """The panels and the per-class figures of every validation (see the module's docstring)."""

    priority = 'LOW'

    def __init__(self, images=DEFAULT['images'], per_class=DEFAULT['per_class']):
        self.images, self.per_class = images, per_class
        self.chosen = None

    def before_val_epoch(self, runner):
        dataset = runner.val_loop.dataloader.dataset
        if self.chosen is None:
            self.chosen = set(chosen_images(dataset, self.images))
        self.classes, self.palette = dataset.metainfo['classes'], dataset.metainfo['palette']
        metric = next(iter(runner.val_loop.evaluator.metrics), None)
        self.ignore_index = getattr(metric, 'ignore_index', 255)
        self.areas = [torch.zeros(len(self.classes), dtype=torch.float64) for _ in range(4)]
        self.drawn = {}

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        from mmseg.evaluation import IoUMetric
        for sample in outputs or []:
            prediction = sample.pred_sem_seg.data.squeeze(0)
            truth = sample.gt_sem_seg.data.squeeze(0).to(prediction)
            if self.per_class:
                for total, area in zip(self.areas, IoUMetric.intersect_and_union(
                        prediction, truth, len(self.classes), self.ignore_index)):
                    total += area.cpu().double()
            if sample.img_path in self.chosen:
                image = np.asarray(Image.open(sample.img_path).convert('RGB'))
                self.drawn[os.path.splitext(os.path.basename(sample.img_path))[0]] = panels(
                    image, truth.cpu().numpy().astype(np.uint8), prediction.cpu().numpy().astype(np.uint8),
                    self.classes, self.palette)

    def after_val_epoch(self, runner, metrics=None):
        from mmengine.dist import all_gather_object, is_main_process
        step = runner.iter
        gathered = all_gather_object((self.drawn, [area.numpy() for area in self.areas]))
        if not is_main_process():
            return
        drawn = {name: picture for rank_drawn, _ in gathered for name, picture in rank_drawn.items()}
        areas = [sum(rank_areas[i] for _, rank_areas in gathered) for i in range(4)]
        folder = os.path.join(runner.work_dir, 'validation')
        tensorboard = runner.visualizer.get_backend('TensorboardVisBackend')
        trackers = [backend for backend in (runner.visualizer.get_backend(name) for name in TRACKER_BACKENDS)
                    if backend is not None]
        if drawn:
            os.makedirs(os.path.join(folder, f'iter_{step}'), exist_ok=True)
        for name, picture in sorted(drawn.items()):
            Image.fromarray(picture).save(os.path.join(folder, f'iter_{step}', f'{name}.png'))
            for backend in [tensorboard] + trackers:
                if backend is not None:
                    backend.add_image(f'val_panels/{name}', picture, step)
        if self.per_class:
            miou = (metrics or {}).get('mIoU')
            record = dict(step=step, mIoU=None if miou is None else round(float(miou), 2),
                          **per_class_figures(areas, self.classes))
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, 'per_class.jsonl'), 'a') as f:
                f.write(json.dumps(record) + '\n')
            if tensorboard is not None:
                tensorboard.add_scalars({f'val_per_class/{kind}.{name}': value for kind in ('IoU', 'Acc')
                                         for name, value in record[kind].items() if value is not None}, step)
            for backend in trackers:
                backend.add_per_class(record, step)


def per_class_figures(areas, classes):
    """{'IoU': {class: percent or None}, 'Acc': {...}} from the summed (intersect, union, pred, label) areas, with
    MMSeg's own arithmetic; None for a class absent from both the labels and the predictions."""
    from mmseg.evaluation import IoUMetric
    figures = IoUMetric.total_area_to_metrics(*(torch.as_tensor(area) for area in areas), ['mIoU'])

    def values(array):
        return {name: None if np.isnan(value) else round(100 * float(value), 2) for name, value in zip(classes, array)}
    return dict(IoU=values(np.asarray(figures['IoU'])), Acc=values(np.asarray(figures['Acc'])))


def read_per_class(work_dir):
    """The per-class records of a run's validations, oldest first ([] where there are none)."""
    path = os.path.join(work_dir, 'validation', 'per_class.jsonl')
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def last_panels(work_dir):
    """(iteration, [panel files]) of the run's last validation that drew panels, or (None, [])."""
    folder = os.path.join(work_dir, 'validation')
    if not os.path.isdir(folder):
        return None, []
    steps = sorted(int(name[len('iter_'):]) for name in os.listdir(folder) if name.startswith('iter_'))
    if not steps:
        return None, []
    last = os.path.join(folder, f'iter_{steps[-1]}')
    return steps[-1], sorted(os.path.join(last, name) for name in os.listdir(last) if name.endswith('.png'))
