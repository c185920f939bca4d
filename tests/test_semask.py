"""SeMask-B FPN (train_sem_fpn.py): the published size, the reference shapes, the init invariant, the two losses."""
import pytest
import torch

from training.project_runner import build_model
from training.trained import experiment_config


@pytest.fixture(scope='module')
def segmentor():
    return build_model(experiment_config('sem_fpn', ['--no-pretrain'])).eval()


def test_parameter_count_is_the_published_96m(segmentor):
    count = sum(p.numel() for p in segmentor.parameters())
    assert abs(count / 96e6 - 1) < 0.01, count


def test_features_and_semantic_maps_at_the_strides(segmentor):
    with torch.no_grad():
        features, semantic_maps = segmentor.backbone(torch.randn(1, 3, 512, 512))
    assert [tuple(f.shape) for f in features] == [(1, 128, 128, 128), (1, 256, 64, 64), (1, 512, 32, 32),
                                                  (1, 1024, 16, 16)]
    assert [tuple(m.shape) for m in semantic_maps] == [(1, 150, 128, 128), (1, 150, 64, 64), (1, 150, 32, 32),
                                                       (1, 150, 16, 16)]


def test_each_semantic_layer_outputs_its_normalised_input_at_init(segmentor):
    torch.manual_seed(0)
    for stage in segmentor.backbone.stages:
        layer = stage.semantic_layer
        assert float(layer.gamma.detach()) == 0
        dims = layer.norm1.normalized_shape[0]
        x = torch.randn(2, 20 * 30, dims)
        with torch.no_grad():
            out, semantic = layer(x, (20, 30))  # 20x30 is not a multiple of the 12x12 windows: padded inside
        torch.testing.assert_close(out, layer.norm1(x))
        assert semantic.shape == (2, 150, 20, 30)


def test_loss_is_seg_plus_0_4_cate_and_prediction_uses_seg_only(segmentor):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    head = segmentor.decode_head
    torch.manual_seed(0)
    with torch.no_grad():
        inputs = segmentor.backbone(torch.randn(2, 3, 64, 64))
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 64, 64)))
        sample.set_metainfo(dict(img_shape=(64, 64), pad_shape=(64, 64)))
        samples.append(sample)
    losses = head.loss(inputs, samples, None)
    assert {'loss_ce', 'loss_cate', 'acc_seg'} <= set(losses)
    cate_alone = head.loss_by_feat(head.cate_logits(inputs[1]), samples)['loss_ce']
    torch.testing.assert_close(losses['loss_cate'], 0.4 * cate_alone)
    with torch.no_grad():
        predicted = head.predict(inputs, [s.metainfo for s in samples], dict(mode='whole'))
        seg = head(inputs)
    assert seg.shape == (2, 150, 16, 16)  # seg logits only, at the stride-4 size
    torch.testing.assert_close(predicted, torch.nn.functional.interpolate(seg, size=(64, 64), mode='bilinear'))
