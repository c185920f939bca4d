"""The validation loss's one piece of arithmetic of its own (training/validation_loss.py): an auxiliary head's logits
at the grid's pixels, without the full-size maps, are the values MMSeg's own chain (predict_by_feat's resize to the
input, postprocess_result's padding crop, flip and resize to the original image) gives there. Its place in a run's
log, scalars.json, TensorBoard, trackers and HTML report: test_trackers.py."""
import pytest
import torch

from training.validation_loss import GRID, at_grid

CASES = [dict(batch_input_shape=(96, 130), padding_size=[0, 2, 0, 5], flip=True, flip_direction='horizontal',
              ori_shape=(181, 250), img_shape=(91, 128)),
         dict(batch_input_shape=(96, 130), padding_size=[3, 0, 1, 0], flip=True, flip_direction='vertical',
              ori_shape=(150, 301), img_shape=(95, 127)),
         dict(batch_input_shape=(64, 88), ori_shape=(130, 177), img_shape=(64, 88))]


@pytest.fixture(scope='module')
def segmentor():
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    from conftest import REPO
    register_all_modules()
    cfg = Config.fromfile(f'{REPO}/configs/fcn.py')
    cfg.model.backbone.pop('init_cfg', None)
    return MODELS.build(cfg.model).eval()


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('metainfo', CASES, ids=['horizontal flip', 'vertical flip', 'no padding'])
def test_logits_at_the_grid_are_mmsegs_resized_logits_there(segmentor, metainfo, align_corners):
    from mmseg.structures import SegDataSample
    logits = torch.randn(150, 12, 17)
    segmentor.align_corners = align_corners
    at_input = torch.nn.functional.interpolate(logits[None], size=metainfo['batch_input_shape'], mode='bilinear',
                                               align_corners=align_corners)
    [sample] = segmentor.postprocess_result(at_input, [SegDataSample(metainfo=metainfo)])
    expected = sample.seg_logits.data[:, ::GRID, ::GRID]
    assert torch.allclose(at_grid(logits, metainfo, align_corners, align_corners), expected, atol=1e-5)
