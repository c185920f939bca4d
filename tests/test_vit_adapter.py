"""ViT-Adapter-B + UperNet (train_vit_deit.py): the published size, the reference shapes, the init invariants,
the deformable attention against MMCV's reference, the recipe's optimizer groups."""
import pytest
import torch

from training.models.deformable_attention import DeformableAttention, deformable_attention_core
from training.project_runner import build_model
from training.trained import experiment_config


@pytest.fixture(scope='module')
def segmentor():
    model = build_model(experiment_config('vit_deit', ['--no-pretrain']))
    return model.eval()


def test_parameter_count_is_the_published_134m(segmentor):
    count = sum(p.numel() for p in segmentor.parameters())
    assert abs(count / 134e6 - 1) < 0.01, count


def test_four_maps_of_768_channels_at_1_4_to_1_32(segmentor):
    with torch.no_grad():
        maps = segmentor.backbone(torch.randn(1, 3, 512, 512))
    assert [tuple(m.shape) for m in maps] == [(1, 768, 128, 128), (1, 768, 64, 64), (1, 768, 32, 32), (1, 768, 16, 16)]


def test_injectors_leave_the_vit_tokens_unchanged_at_init(segmentor):
    """With gamma 0 the ViT blocks see exactly the plain ViT's tokens: the adapter starts from the pretrained ViT."""
    backbone = segmentor.backbone
    assert all(float(i.injector.gamma.detach().abs().max()) == 0 for i in backbone.interactions)
    seen = []
    hooks = [layer.register_forward_hook(lambda m, i, o: seen.append(o)) for layer in backbone.layers]
    image = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        backbone(image)
        for hook in hooks:
            hook.remove()
        tokens, hw = backbone.patch_embed(image)
        tokens = tokens + backbone._position_embedding(hw)
        plain = []
        for layer in backbone.layers:
            tokens = layer(tokens)
            plain.append(tokens)
    assert len(seen) == 12
    for ours, theirs in zip(seen, plain):
        torch.testing.assert_close(ours, theirs)


def test_deformable_attention_equals_mmcvs_pytorch_reference():
    from mmcv.ops.multi_scale_deform_attn import multi_scale_deformable_attn_pytorch
    torch.manual_seed(0)
    shapes = torch.tensor([[8, 8], [4, 4], [2, 2]])
    starts = torch.tensor([0, 64, 80])
    value = torch.randn(2, 84, 12, 32)
    locations = torch.rand(2, 16, 12, 3, 4, 2)
    weights = torch.rand(2, 16, 12, 3, 4).softmax(-1)
    torch.testing.assert_close(deformable_attention_core(value, shapes, starts, locations, weights),
                               multi_scale_deformable_attn_pytorch(value, shapes, locations, weights))


def test_deformable_attention_runs_in_float32_under_autocast():
    torch.manual_seed(0)
    attention = DeformableAttention(64, 4, num_levels=2, num_points=4, value_proj_ratio=0.5)
    shapes = torch.tensor([[4, 4], [2, 2]])
    starts = torch.tensor([0, 16])
    query, value = torch.randn(2, 9, 64), torch.randn(2, 20, 64)
    reference = torch.rand(1, 9, 1, 2)
    value_bf16 = torch.randn(2, 20, 4, 8).to(torch.bfloat16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        core = deformable_attention_core(value_bf16, shapes, starts, torch.rand(2, 9, 4, 2, 4, 2),
                                         torch.rand(2, 9, 4, 2, 4))
        out = attention(query, reference, value, shapes, starts)
    assert core.dtype == torch.float32  # the core itself, whatever its inputs
    assert out.shape == (2, 9, 64) and torch.isfinite(out.float()).all()


def test_optimizer_groups_follow_the_recipe(segmentor):
    """AugReg-B recipe: head weights at 10x the LR; biases, norms, pos_embed and level_embed without weight decay."""
    from mmengine.optim import build_optim_wrapper
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = experiment_config('vit_deit', ['--no-pretrain'])
    cfg.optim_wrapper.type = 'OptimWrapper'  # (AMP needs a GPU; the groups are the same)
    cfg.optim_wrapper.pop('loss_scale')
    optimizer = build_optim_wrapper(segmentor, cfg.optim_wrapper).optimizer
    group_of = {id(p): g for g in optimizer.param_groups for p in g['params']}
    base_lr, base_wd = 2e-5, 0.01
    for name, param in segmentor.named_parameters():
        group = group_of[id(param)]
        is_bias = 'bias' in name.rsplit('.', 1)[-1]  # weight/bias, and the attention's in_proj_bias
        no_decay = (is_bias or 'norm' in name or '.ln1.' in name or '.ln2.' in name
                    or name in ('backbone.pos_embed', 'backbone.level_embed'))
        head_weight = 'head' in name and not is_bias
        assert group['weight_decay'] == (0 if no_decay else base_wd), name
        assert group['lr'] == pytest.approx(base_lr * (10 if head_weight else 1)), name
    names = dict(segmentor.named_parameters())
    assert group_of[id(names['decode_head.conv_seg.weight'])]['lr'] == pytest.approx(2e-4)
    assert group_of[id(names['backbone.layers.0.ln1.weight'])]['weight_decay'] == 0
    assert group_of[id(names['backbone.layers.0.attn.attn.in_proj_weight'])]['weight_decay'] == base_wd
