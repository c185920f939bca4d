"""The validation loss: at every validation, the heads' losses on the validation images, beside mIoU in the log line,
scalars.json, TensorBoard and the trackers (val_loss, val_decode.loss_ce, val_aux.loss_ce: named as in training with
val_ in front, so that TensorBoard keeps them off the training curves).

No second pass over the validation set. Computed from what the validation's own forward pass produced:
- the decode head's loss: its loss modules (cross-entropy with the head's loss weight and class weights, as in
  training) on the logits the mIoU is computed from: MMSeg's per-image logits at the image's original size against its
  labels. With test_cfg mode='slide' these are the windows' logits stitched and averaged, as MMSeg predicts them;
- in whole-image inference also the auxiliary heads' (and a cascade's earlier decode heads') losses: their forward on
  the features that pass computed (a head's forward, not the backbone's: the cost stays small), resized to the image like the decode head's logits (MMSeg's postprocess_result).
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

    # ---- the forward pass's features -----------------------------------------------------------------------------
    def before_val_epoch(self, runner):
        self.totals, self.images = {}, 0
        segmentor = self._segmentor(runner)
        if pixel_loss_head(self._final_head(segmentor)) is None:
            return
        features_of = segmentor.neck if getattr(segmentor, 'with_neck', False) else segmentor.backbone
        self.handle = features_of.register_forward_hook(self._keep_features)

    def _keep_features(self, module, inputs, output):
        self.features.append(output)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        features, self.features = self.features, []
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
            extra = self._extra_logits(segmentor, features[0], outputs) if whole else []
            for index, sample in enumerate(outputs):
                label = sample.gt_sem_seg.data.to(sample.seg_logits.data.device).long()  # (1, H, W)
                parts = {final_prefix: pixel_losses(final, sample.seg_logits.data[None], label)}
                for prefix, head, logits in extra:
                    parts[prefix] = pixel_losses(head, logits[index][None], label)
                for prefix, losses in parts.items():
                    for name, value in losses.items():
                        self._add(f'{prefix}.{name}', value)
                        self._add('loss', value)
        self.images += len(outputs)

    def _extra_logits(self, segmentor, features, outputs):
        """[(prefix, head, [per-image logits at the original size])] of the heads beside the decode head's: each
        head's forward on the features (a cascade's later heads also on the previous head's output, as MMSeg's
        CascadeEncoderDecoder calls them)."""
        from mmseg.structures import SegDataSample
        found, previous = [], None
        for prefix, head in extra_heads(segmentor):
            if prefix.startswith('decode_'):
                logits = previous = head.forward(features) if previous is None else head.forward(features, previous)
            else:
                logits = head.forward(features)
            loss_head = pixel_loss_head(head)
            if loss_head is None:
                continue
            metainfo = outputs[0].metainfo
            size = metainfo.get('batch_input_shape') or metainfo.get('pad_shape') or metainfo['img_shape']
            logits = torch.nn.functional.interpolate(logits.float(), size=tuple(size[:2]), mode='bilinear',
                                                     align_corners=head.align_corners)
            samples = segmentor.postprocess_result(logits, [SegDataSample(metainfo=s.metainfo) for s in outputs])
            found.append((prefix, loss_head, [s.seg_logits.data for s in samples]))
        return found

    def after_val_epoch(self, runner, metrics=None):
        if self.handle is not None:
            self.handle.remove()
            self.handle = None
        if self._segmentor(runner) is not None and pixel_loss_head(self._final_head(self._segmentor(runner))) is None:
            head = type(self._final_head(self._segmentor(runner))).__name__
            self._say_once(runner, 'mask', f'validation loss: not computed for {head}: its loss matches queries to '
                           'ground-truth masks, which inference does not keep (mIoU as always).')
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
