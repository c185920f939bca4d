"""A trained segmentor as an ONNX file (export.py), checked in onnxruntime against PyTorch, and run again (infer.py
--onnx).

The exported graph takes a normalized image batch (N, 3, H, W: RGB, (pixel - mean) / std, the model's own data
preprocessor constants) and returns per-pixel class logits (N, classes, H, W) at the input's size, or with --argmax
the labels (N, H, W, int64). It is MMSeg's whole-image inference (EncoderDecoder.encode_decode and the resize to the
input) in eval mode: Mask2Former and MaskFormer without the matcher, PointRend with its inference subdivision, KNet
with its last stage. Standard ONNX ops only (the default domain), at OPSET. The preprocessing constants, the class
names and the palette are in the file's metadata (metadata_props), which infer.py --onnx reads.
"""
import contextlib
import json
import os
import statistics
import time

import numpy as np
import torch

from .errors import UserError

OPSET = 17
AGREEMENT = 0.999  # the share of pixels whose label must agree between onnxruntime and PyTorch


class Exported(torch.nn.Module):
    """The segmentor's whole-image inference as a module of tensors: image batch in, logits (or labels) out."""

    def __init__(self, segmentor, argmax=False, dynamic=False):
        super().__init__()
        self.segmentor, self.argmax, self.dynamic = segmentor, argmax, dynamic

    def forward(self, image):
        # a fixed size as plain ints: heads that build masks from the image metas (MaskFormer's padding mask) then
        # trace to constants; a dynamic export keeps the traced sizes
        size = image.shape[2:] if self.dynamic else tuple(int(side) for side in image.shape[2:])
        metas = [dict(img_shape=size, ori_shape=size, pad_shape=size, padding_size=[0, 0, 0, 0])] * image.shape[0]
        logits = self.segmentor.encode_decode(image, metas)
        logits = torch.nn.functional.interpolate(logits, size=size, mode='bilinear',
                                                 align_corners=self.segmentor.align_corners)
        return logits.argmax(1) if self.argmax else logits


def preprocessing(segmentor):
    """(mean, std, to RGB?) of the segmentor's data preprocessor."""
    preprocessor = segmentor.data_preprocessor
    return (preprocessor.mean.flatten().tolist(), preprocessor.std.flatten().tolist(),
            bool(getattr(preprocessor, 'channel_conversion', False)))


def metadata(segmentor, name, checkpoint, size, argmax, dynamic):
    mean, std, _ = preprocessing(segmentor)
    return {'model': name or '', 'checkpoint': os.path.basename(checkpoint), 'opset': str(OPSET),
            'input': 'image: N x 3 x H x W float32, RGB, (pixel - mean) / std',
            'output': 'labels: N x H x W int64' if argmax else 'logits: N x classes x H x W float32',
            'mean': json.dumps(mean), 'std': json.dumps(std),
            'size': 'dynamic' if dynamic else f'{size[0]}x{size[1]}',
            'classes': json.dumps(list(segmentor.dataset_meta['classes'])),
            'palette': json.dumps([list(map(int, color)) for color in segmentor.dataset_meta['palette']])}


def _psamask_as_gather(module):
    """PSAMask's forward as one Gather (ONNX's own op): MMCV's autograd Function exports a custom mmcv::MMCVPSAMask
    op, which no runtime implements. The positions come from the project's pure-PyTorch PSAMask (mmcv_ext_pytorch);
    they depend on the feature map's size, so the file holds them for one input size."""
    from .mmcv_ext_pytorch import _psamask_indices

    def forward(input):
        batch, _, height, width = input.shape
        h_mask, w_mask = module.mask_size
        mask_index, buffer_index = _psamask_indices(module.psa_type_enum, int(height), int(width), h_mask, w_mask,
                                                    (h_mask - 1) // 2, (w_mask - 1) // 2)
        source = input.reshape(batch, -1)
        source_of = torch.full((int(height * width) ** 2,), source.shape[1], dtype=torch.long)  # (the zero)
        source_of[buffer_index] = mask_index
        padded = torch.cat([source, source.new_zeros(batch, 1)], dim=1)
        return padded[:, source_of.to(input.device)].reshape(batch, height * width, height, width)
    return forward


@contextlib.contextmanager
def standard_ops(segmentor):
    """For the export: the modules whose MMCV op would export as a custom op, as ordinary ops."""
    from mmcv.ops import PSAMask
    replaced = [module for module in segmentor.modules() if isinstance(module, PSAMask)]
    for module in replaced:
        module.forward = _psamask_as_gather(module)
    try:
        yield
    finally:
        for module in replaced:
            del module.forward


def export(segmentor, out, size, name=None, checkpoint='', argmax=False, dynamic=False):
    """Writes `out` (an .onnx file) and its metadata; returns `out`."""
    import onnx
    from mmcv.ops import PSAMask
    if dynamic and any(isinstance(module, PSAMask) for module in segmentor.modules()):
        raise UserError(f'{name or "this model"} cannot be exported with a dynamic height and width: its PSAMask '
                        f'gathers at positions that depend on the feature map\'s size, so the file holds them for one '
                        f'size. Export it without --dynamic, at the size it will run at (--shape).')
    module = Exported(segmentor, argmax, dynamic).eval()
    example = torch.zeros(1, 3, *size)
    axes = {'image': {0: 'batch', 2: 'height', 3: 'width'},
            'labels' if argmax else 'logits': {0: 'batch', **({1: 'height', 2: 'width'} if argmax else
                                                               {2: 'height', 3: 'width'})}} if dynamic else None
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    partial = out + '.partial'
    with torch.no_grad(), standard_ops(segmentor):
        torch.onnx.export(module, (example,), partial, opset_version=OPSET, input_names=['image'],
                          output_names=['labels' if argmax else 'logits'], dynamic_axes=axes, dynamo=False)
    model = onnx.load(partial)
    custom = sorted({node.domain for node in model.graph.node if node.domain not in ('', 'ai.onnx')})
    if custom:
        os.remove(partial)
        raise UserError(f'{name or "the model"} exports ops of custom domains ({", ".join(custom)}), which ONNX '
                        f'Runtime and TensorRT do not implement: it cannot be exported to standard ONNX.')
    for key, value in metadata(segmentor, name, checkpoint, size, argmax, dynamic).items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, partial)
    os.replace(partial, out)
    return out


def read_metadata(path):
    import onnx
    return {prop.key: prop.value for prop in onnx.load(path, load_external_data=False).metadata_props}


def session(path):
    import onnxruntime
    return onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])


def onnx_runner(path):
    """(onnxruntime session, metadata) of a file export.py wrote; a UserError for anything else."""
    if not os.path.isfile(path):
        raise UserError(f'{path} does not exist: export a checkpoint first (python export.py work_dirs/fcn_ade20k).')
    try:
        properties = read_metadata(path)
    except Exception as error:
        raise UserError(f'{path} cannot be read as an ONNX file ({type(error).__name__}: '
                        f'{str(error).splitlines()[0][:200] if str(error) else ""}). Export it again with '
                        f'python export.py.') from error
    missing = [key for key in ('mean', 'std', 'size', 'classes', 'palette') if key not in properties]
    if missing:
        raise UserError(f'{path} lacks the metadata export.py writes ({", ".join(missing)}): infer.py --onnx runs '
                        f'files of export.py only. Export the checkpoint with python export.py.')
    return session(path), properties


def normalized(image, mean, std, size):
    """(1, 3, H, W) float32 of an RGB uint8 image resized to `size` (H, W)."""
    from PIL import Image
    resized = np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR), np.float32)
    return ((resized - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1)[None]


def labels_at(labels, size):
    """Ground-truth labels (H, W) resized to `size` (nearest)."""
    from PIL import Image
    return np.asarray(Image.fromarray(labels).resize((size[1], size[0]), Image.NEAREST))


def check(segmentor, path, samples, size, argmax=False):
    """Runs the ONNX file and the PyTorch model on the same normalized images (`samples`: [(image RGB, labels or
    None)]) at `size`: the largest logit difference, the share of pixels whose label agrees, the mIoU of each on the
    images' labels, the median latency of each."""
    from mmseg.evaluation import IoUMetric
    mean, std, _ = preprocessing(segmentor)
    module, runner = Exported(segmentor).eval(), session(path)
    output_name = runner.get_outputs()[0].name
    agree = total = 0
    largest = 0.0
    times = {'onnxruntime': [], 'pytorch': []}
    classes = len(segmentor.dataset_meta['classes'])
    areas = {'onnxruntime': [0, 0, 0, 0], 'pytorch': [0, 0, 0, 0]}
    for image, truth in samples:
        batch = normalized(image, mean, std, size)
        start = time.perf_counter()
        with torch.no_grad():
            reference = module(torch.from_numpy(batch)).numpy()
        times['pytorch'].append(time.perf_counter() - start)
        start = time.perf_counter()
        ours = runner.run([output_name], {'image': batch})[0]
        times['onnxruntime'].append(time.perf_counter() - start)
        reference_labels = reference.argmax(1)
        ours_labels = ours if argmax else ours.argmax(1)
        if not argmax:
            largest = max(largest, float(np.abs(reference - ours).max()))
        agree += int((reference_labels == ours_labels).sum())
        total += reference_labels.size
        if truth is not None:
            target = torch.from_numpy(labels_at(truth, size).astype(np.int64))
            for side, predicted in (('pytorch', reference_labels), ('onnxruntime', ours_labels)):
                for index, area in enumerate(IoUMetric.intersect_and_union(
                        torch.from_numpy(predicted[0]), target, classes, 255)):
                    areas[side][index] = areas[side][index] + area
    result = dict(images=len(samples), agreement=agree / total, max_logit_difference=None if argmax else largest,
                  onnxruntime_ms=round(1000 * statistics.median(times['onnxruntime']), 1),
                  pytorch_ms=round(1000 * statistics.median(times['pytorch']), 1))
    for side, (intersect, union, _, _) in areas.items():
        if isinstance(union, torch.Tensor):
            present = union > 0
            result[f'{side}_miou'] = round(100 * float((intersect[present] / union[present]).mean()), 2)
    return result


def validation_samples(cfg, count):
    """[(image RGB uint8, labels uint8 with 255 ignored)] of the first `count` validation images of the run's dataset
    (its val_dataloader), with the dataset's reduce_zero_label (ADE20K's) as its loader applies it."""
    from PIL import Image
    dataset = cfg.val_dataloader.dataset
    root = dataset.get('data_root', '')
    prefix = dataset.get('data_prefix', {})
    images_dir = os.path.join(root, prefix.get('img_path', 'images/validation'))
    labels_dir = os.path.join(root, prefix.get('seg_map_path', 'annotations/validation'))
    reduce_zero_label = dataset.get('reduce_zero_label', dataset.get('type') == 'ADE20KDataset')
    if not os.path.isdir(images_dir):
        return []
    samples = []
    for name in sorted(os.listdir(images_dir))[:count]:
        image = np.asarray(Image.open(os.path.join(images_dir, name)).convert('RGB'))
        label_path = os.path.join(labels_dir, os.path.splitext(name)[0] + '.png')
        labels = None
        if os.path.isfile(label_path):
            labels = np.asarray(Image.open(label_path)).astype(np.int64)
            if reduce_zero_label:
                labels = np.where(labels == 0, 256, labels) - 1
            labels = labels.astype(np.uint8)
        samples.append((image, labels))
    return samples
