"""The validation loss: at every validation, the heads' losses on the validation images, beside mIoU in the log line,
scalars.json, TensorBoard and the trackers (val_loss, val_decode.loss_ce, val_aux.loss_ce: named as in training with
val_ in front, so that TensorBoard keeps them off the training curves).

No second pass over the validation set. Computed from what the validation's own forward pass produced:
- the decode head's loss: its loss modules (cross-entropy with the head's loss weight and class weights, as in
  training) on the logits the mIoU is computed from: MMSeg's per-image logits at the image's original size against its
  labels, at every GRID-th pixel in each direction (below). With test_cfg mode='slide' these are the windows' logits
  stitched and averaged, as MMSeg predicts them;
- in whole-image inference also the auxiliary heads' (and a cascade's earlier decode heads') losses: their forward on
  the features that pass computed (a head's forward, not the backbone's; a cascade's earlier heads ran in that pass
  anyway, their outputs are kept), resized to the image like the decode head's logits (MMSeg's predict_by_feat and
  postprocess_result, computed at the grid's pixels only: at_grid).
  With mode='slide' the backbone runs once per window, and these heads are left out: val_loss is then the decode
  head's loss alone (the log says so once);
- val_loss is their sum, per image, averaged over the validation set.
Heads that classify masks instead of pixels (Mask2Former, MaskFormer) compute their loss from matched queries, which
inference does not keep: they get no validation loss, and the log says so once. KNet's is its last stage's.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

PREFIX = 'val_'
# The losses are taken at every GRID-th pixel of the original image in each direction (1/16 of its pixels, ~20,000 of
# an ADE20K image): the full-size cross-entropy over 150 classes, and the full-size resizes of the auxiliary heads'
# logits, would cost a whole-image validation of FCN 17.7% more; this way 4-5%, most of it the auxiliary head's forward
# (docs/benchmarks.md)
GRID = 4


def pixel_loss_head(head):
    """The module whose loss_decode scores per-pixel logits for `head` (KNet: its kernel generate head), or None."""
    head = getattr(head, 'kernel_generate_head', head)
    return head if hasattr(head, 'loss_decode') and getattr(head, 'out_channels', 2) > 1 else None


def pixel_losses(head, logits, label):
    """{loss name: value} of `head`'s loss modules on `logits` (1, C, H, W) at the size of `label` (1, H, W)."""
    modules = head.loss_decode if isinstance(head.loss_decode, torch.nn.ModuleList) else [head.loss_decode]
    losses = {}
    for module in modules:
        value = float(module(logits.float(), label, weight=None, ignore_index=head.ignore_index))
        losses[module.loss_name] = losses.get(module.loss_name, 0.0) + value
    return losses


def linear_resize_matrix(size_in, size_out, align_corners):
    """(size_out, size_in): F.interpolate's 1-D linear resize as a matrix (bilinear resizing is this along each axis)."""
    basis = torch.eye(size_in)[None]  # (1, size_in vectors, size_in positions)
    return torch.nn.functional.interpolate(basis, size=size_out, mode='linear', align_corners=align_corners)[0].T


def axis_to_grid(size_logits, size_input, crop, flipped, size_original, head_corners, segmentor_corners):
    """(grid pixels, size_logits): along one axis, MMSeg's chain from a head's logits to the original image (resize
    to the network input, the padding cropped, the flip undone, resize to the original size: predict_by_feat and
    postprocess_result) as one matrix, at every GRID-th pixel."""
    to_input = linear_resize_matrix(size_logits, size_input, head_corners)[crop[0]:size_input - crop[1]]
    if flipped:
        to_input = to_input.flip(0)
    return linear_resize_matrix(len(to_input), size_original, segmentor_corners)[::GRID] @ to_input


def at_grid(logits, metainfo, head_corners, segmentor_corners):
    """(C, grid rows, grid columns): one image's logits (C, h, w) from a head, as MMSeg would resize them to the
    original image, at the grid's pixels only (the same values, without the full-size maps)."""
    height, width = (metainfo.get('batch_input_shape') or metainfo.get('pad_shape') or metainfo['img_shape'])[:2]
    left, right, top, bottom = metainfo.get('padding_size') or (0, 0, 0, 0)
    flip = metainfo.get('flip') and metainfo.get('flip_direction')
    original = metainfo['ori_shape']
    rows = axis_to_grid(logits.shape[1], height, (top, bottom), flip == 'vertical', original[0], head_corners,
                        segmentor_corners)
    columns = axis_to_grid(logits.shape[2], width, (left, right), flip == 'horizontal', original[1], head_corners,
                           segmentor_corners)
    return torch.einsum('ih,chw,jw->cij', rows.to(logits), logits, columns.to(logits))


def extra_heads(segmentor):
    """[(prefix, head)] run beside the decode head's final logits in whole-image inference, with the prefixes
    training gives their losses: a cascade's earlier decode heads (decode_<i>) and the auxiliary heads (aux,
    aux_<i>)."""
    heads = []
    decode = segmentor.decode_head
    if isinstance(decode, torch.nn.ModuleList):
        heads += [(f'decode_{index}', head) for index, head in enumerate(decode[:-1])]
    auxiliary = getattr(segmentor, 'auxiliary_head', None)
    if isinstance(auxiliary, torch.nn.ModuleList):
        heads += [(f'aux_{index}', head) for index, head in enumerate(auxiliary)]
    elif auxiliary is not None:
        heads.append(('aux', auxiliary))
    return heads


class ValidationLoss(Hook):
    """Sums the heads' losses over a validation and adds val_loss and its parts to the validation's metrics (before
    RuntimeInfoHook hands them to the log, the visualizer backends and the best-checkpoint rule)."""

    priority = 'HIGHEST'

    def __init__(self):
        self.totals, self.images, self.features, self.said = {}, 0, [], set()
        self.handle = None
        self.cascade_outputs, self.wrapped = {}, []  # a cascade's earlier heads: their outputs in this validation step

    # ---- the forward pass's features -----------------------------------------------------------------------------
    def before_val_epoch(self, runner):
        self.totals, self.images = {}, 0
        segmentor = self._segmentor(runner)
        if pixel_loss_head(self._final_head(segmentor)) is None:
            return
        features_of = segmentor.neck if getattr(segmentor, 'with_neck', False) else segmentor.backbone
        self.handle = features_of.register_forward_hook(self._keep_features)
        if isinstance(segmentor.decode_head, torch.nn.ModuleList):
            # CascadeEncoderDecoder calls these heads' forward() directly (no module hooks): their outputs are kept by
            # a wrapper of forward for the time of the validation, not computed a second time
            for index, head in enumerate(segmentor.decode_head[:-1]):
                self.wrapped.append((head, head.__dict__.get('forward')))
                head.forward = self._keeping(index, head.forward)

    def _keeping(self, index, forward):
        def kept(*args, **kwargs):
            output = forward(*args, **kwargs)
            self.cascade_outputs.setdefault(index, []).append(output)
            return output
        return kept

    def _keep_features(self, module, inputs, output):
        self.features.append(output)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        features, self.features = self.features, []
        cascade, self.cascade_outputs = self.cascade_outputs, {}
        segmentor = self._segmentor(runner)
        final = pixel_loss_head(self._final_head(segmentor))
        if final is None or not outputs:
            return
        whole = len(features) == 1  # one backbone pass for the batch (slide: one per window)
        if not whole:
            self._say_once(runner, 'slide', 'validation loss: sliding-window inference runs the backbone once per '
                           'window, so only the decode head\'s loss (on the stitched logits) is computed; val_loss is '
                           'that alone, without the auxiliary heads\'.')
        final_prefix = (f'decode_{len(segmentor.decode_head) - 1}'
                        if isinstance(segmentor.decode_head, torch.nn.ModuleList) else 'decode')
        with torch.no_grad():
            extra = self._extra_logits(segmentor, features[0], cascade, outputs) if whole else []
            for index, sample in enumerate(outputs):
                label = sample.gt_sem_seg.data.to(sample.seg_logits.data.device).long()[:, ::GRID, ::GRID]
                parts = {final_prefix: pixel_losses(final, sample.seg_logits.data[None, :, ::GRID, ::GRID], label)}
                for prefix, head, logits in extra:
                    parts[prefix] = pixel_losses(head, logits[index][None], label)
                for prefix, losses in parts.items():
                    for name, value in losses.items():
                        self._add(f'{prefix}.{name}', value)
                        self._add('loss', value)
        self.images += len(outputs)

    def _extra_logits(self, segmentor, features, cascade, outputs):
        """[(prefix, head, [per-image logits at the grid's pixels])] of the heads beside the decode head's: a
        cascade's earlier heads' outputs of the validation step, and each auxiliary head's forward on its features."""
        found = []
        for prefix, head in extra_heads(segmentor):
            if prefix.startswith('decode_'):
                logits = (cascade.get(int(prefix[len('decode_'):])) or [None])[0]
                if logits is None:
                    continue
            else:
                logits = head.forward(features)
            loss_head = pixel_loss_head(head)
            # (a head that predicts something else than the classes, as STDC's detail head its boundaries, is
            # trained on labels made from them: it has no validation loss against the class labels)
            if loss_head is not None and loss_head.out_channels == segmentor.out_channels:
                found.append((prefix, loss_head, [
                    at_grid(logits[index].float(), sample.metainfo, head.align_corners, segmentor.align_corners)
                    for index, sample in enumerate(outputs)]))
        return found

    def after_val_epoch(self, runner, metrics=None):
        if self.handle is not None:
            self.handle.remove()
            self.handle = None
        for head, own_forward in self.wrapped:
            if own_forward is None:
                del head.forward  # (the class's forward again)
            else:
                head.forward = own_forward
        self.wrapped = []
        final = self._final_head(self._segmentor(runner))
        if pixel_loss_head(final) is None:
            self._say_once(runner, 'mask', f'validation loss: not computed for {type(final).__name__}: its loss '
                           'matches queries to ground-truth masks, which inference does not keep (mIoU as always).')
        totals, images = self._gathered()
        if metrics is None or not images:
            return
        for key in sorted(totals, key=lambda key: (key != 'loss', key)):
            metrics[PREFIX + key] = round(totals[key] / images, 4)

    # ---- helpers ------------------------------------------------------------------------------------------------
    def _gathered(self):
        from mmengine.dist import all_gather_object, get_world_size
        if get_world_size() == 1:
            return self.totals, self.images
        totals, images = {}, 0
        for rank_totals, rank_images in all_gather_object((self.totals, self.images)):
            images += rank_images
            for key, value in rank_totals.items():
                totals[key] = totals.get(key, 0.0) + value
        return totals, images

    def _add(self, key, value):
        self.totals[key] = self.totals.get(key, 0.0) + value

    def _say_once(self, runner, what, line):
        if what not in self.said:
            self.said.add(what)
            runner.logger.info(line)

    @staticmethod
    def _segmentor(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    @staticmethod
    def _final_head(segmentor):
        decode = segmentor.decode_head
        return decode[-1] if isinstance(decode, torch.nn.ModuleList) else decode
