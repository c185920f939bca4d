"""ViT-Adapter (Chen et al., Vision Transformer Adapter for Dense Predictions, ICLR 2023, arXiv 2205.08534) as an
MMSeg 1.x backbone, written from the paper and the facts in docs of the official code (czczup/ViT-Adapter,
MMSeg 0.x only).

A plain ViT-B/16 (MMSeg's PatchEmbed and TransformerEncoderLayer, with layer scale) gets
- a spatial prior module (SPM): a ResNet-like conv stem giving maps at 1/4, 1/8, 1/16, 1/32, lifted to 768
  channels; the last three flattened into one token list c, each level with a learnt level embedding;
- four interactions, each around three ViT blocks: an injector (deformable attention from the ViT tokens into
  c, scaled by a gamma that starts at 0, so the pretrained ViT starts unchanged), the blocks, an extractor
  (deformable attention from c into the ViT tokens, then a ConvFFN), and two more extractors in the last;
- outputs: c split back into its levels (the 1/4 map from a transposed conv of the 1/8 one plus the stem's),
  plus the ViT's maps resized to each level, each normalised: 4 maps of 768 channels at 1/4 ... 1/32.
Shapes at 512x512: ViT tokens 32x32; c = 64x64 + 32x32 + 16x16 = 5376 tokens; outputs 128, 64, 32, 16.
Inputs must be multiples of 32 (the test pipeline's ResizeToMultiple does that).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmcv.cnn.bricks.scale import LayerScale
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmengine.runner.checkpoint import CheckpointLoader
from mmseg.models.backbones.vit import TransformerEncoderLayer, VisionTransformer
from mmseg.models.utils import PatchEmbed
from mmseg.registry import MODELS

from .deformable_attention import DeformableAttention

LN = dict(type='LN', eps=1e-6)


class LayerScaleEncoderLayer(TransformerEncoderLayer):
    """MMSeg's ViT layer with layer scale on both branches: x + gamma1 * attn(ln1(x)), x + gamma2 * ffn(ln2(x))
    (MMCV's FFN has gamma2 built in; drop path commutes with the per-channel scale)."""

    def __init__(self, layer_scale_init=1.0, **kwargs):
        super().__init__(ffn_cfg=dict(layer_scale_init_value=layer_scale_init), attn_cfg=dict(), **kwargs)
        self.gamma1 = LayerScale(kwargs['embed_dims'], scale=layer_scale_init)

    def forward(self, x):
        x = x + self.gamma1(self.attn(self.norm1(x), identity=0))
        return self.ffn(self.norm2(x), identity=x)


class SpatialPriorModule(nn.Module):
    """Conv stem -> maps at 1/4 (64 ch), 1/8 (128), 1/16 (256), 1/32 (256), each lifted to embed_dims by a 1x1 conv."""

    def __init__(self, inplanes, embed_dims, norm_cfg):
        super().__init__()

        def conv(cin, cout, stride):
            return ConvModule(cin, cout, 3, stride=stride, padding=1, bias=False, norm_cfg=norm_cfg,
                              act_cfg=dict(type='ReLU'))

        self.stem = nn.Sequential(conv(3, inplanes, 2), conv(inplanes, inplanes, 1), conv(inplanes, inplanes, 1),
                                  nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        self.conv2 = conv(inplanes, 2 * inplanes, 2)
        self.conv3 = conv(2 * inplanes, 4 * inplanes, 2)
        self.conv4 = conv(4 * inplanes, 4 * inplanes, 2)
        self.lifts = nn.ModuleList(nn.Conv2d(c, embed_dims, 1) for c in (inplanes, 2 * inplanes, 4 * inplanes,
                                                                           4 * inplanes))

    def forward(self, x):
        c1 = self.stem(x)
        c2 = self.conv2(c1)
        c3 = self.conv3(c2)
        c4 = self.conv4(c3)
        return [lift(c) for lift, c in zip(self.lifts, (c1, c2, c3, c4))]


class ConvFFN(nn.Module):
    """Linear -> depthwise 3x3 conv on each level of the token list (back in 2-D) -> GELU -> Linear."""

    def __init__(self, dims, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dims)

    def forward(self, x, level_shapes):
        x = self.fc1(x)
        batch, _, channels = x.shape
        levels = x.split([h * w for h, w in level_shapes], dim=1)
        x = torch.cat([self.dwconv(level.transpose(1, 2).reshape(batch, channels, h, w)).flatten(2).transpose(1, 2)
                       for level, (h, w) in zip(levels, level_shapes)], dim=1)
        return self.fc2(self.act(x))


class Injector(nn.Module):
    """ViT tokens += gamma * deformable attention over the SPM tokens (3 levels); gamma starts at init_values."""

    def __init__(self, dims, heads, points, ratio, init_values):
        super().__init__()
        self.query_norm, self.feat_norm = nn.LayerNorm(dims, eps=1e-6), nn.LayerNorm(dims, eps=1e-6)
        self.attn = DeformableAttention(dims, heads, num_levels=3, num_points=points, value_proj_ratio=ratio)
        self.gamma = nn.Parameter(init_values * torch.ones(dims))

    def forward(self, tokens, c, positions):
        reference, shapes, starts = positions
        return tokens + self.gamma * self.attn(self.query_norm(tokens), reference, self.feat_norm(c), shapes, starts)


class Extractor(nn.Module):
    """SPM tokens += deformable attention over the ViT tokens (1 level), then += drop_path(ConvFFN)."""

    def __init__(self, dims, heads, points, ratio, cffn_ratio, drop_path):
        super().__init__()
        self.query_norm, self.feat_norm = nn.LayerNorm(dims, eps=1e-6), nn.LayerNorm(dims, eps=1e-6)
        self.attn = DeformableAttention(dims, heads, num_levels=1, num_points=points, value_proj_ratio=ratio)
        self.ffn = ConvFFN(dims, int(dims * cffn_ratio))
        self.ffn_norm = nn.LayerNorm(dims, eps=1e-6)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, c, tokens, positions, level_shapes):
        reference, shapes, starts = positions
        c = c + self.attn(self.query_norm(c), reference, self.feat_norm(tokens), shapes, starts)
        return c + self.drop_path(self.ffn(self.ffn_norm(c), level_shapes))


class Interaction(nn.Module):
    """injector -> the interaction's ViT blocks -> extractor (-> extra extractors in the last interaction)."""

    def __init__(self, dims, heads, points, ratio, cffn_ratio, drop_path, init_values, extra_extractors):
        super().__init__()
        self.injector = Injector(dims, heads, points, ratio, init_values)
        self.extractors = nn.ModuleList(Extractor(dims, heads, points, ratio, cffn_ratio, drop_path)
                                        for _ in range(1 + extra_extractors))

    def forward(self, tokens, c, blocks, inject_at, extract_at, level_shapes):
        tokens = self.injector(tokens, c, inject_at)
        for block in blocks:
            tokens = block(tokens)
        for extractor in self.extractors:
            c = extractor(c, tokens, extract_at, level_shapes)
        return tokens, c


def centres(shapes, device):
    """(1, sum h*w, 1, 2) centres of each grid in `shapes`, as (x, y) in [0, 1]."""
    points = []
    for h, w in shapes:
        y, x = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                              torch.arange(w, device=device, dtype=torch.float32), indexing='ij')
        points.append(torch.stack([(x.flatten() + 0.5) / w, (y.flatten() + 0.5) / h], -1))
    return torch.cat(points)[None, :, None]


def attention_positions(queries, values, device):
    """(reference points, value spatial shapes, level start indexes) of a deformable attention whose queries lie
    on the grids `queries` and whose values are the grids `values`."""
    shapes = torch.as_tensor(values, dtype=torch.long, device=device)
    starts = torch.cat([shapes.new_zeros(1), shapes.prod(1).cumsum(0)[:-1]])
    return centres(queries, device), shapes, starts


@MODELS.register_module()
class ViTAdapter(BaseModule):
    """ViT-Adapter backbone (see the module docstring); ViT-B/16 by default, 4 outputs of embed_dims channels."""

    # for the pretrained-weights count (training/pretrained.py): what a ViT file cannot have, what it has extra
    NEW_PARAMETERS = r'^(level_embed$|spm\.|interactions\.|up\.|out_norms\.)|\.gamma[12]\.'
    UNUSED_PRETRAINED = r'^cls_token$'

    def __init__(self, img_size=512, patch_size=16, embed_dims=768, num_layers=12, num_heads=12, mlp_ratio=4,
                 drop_path_rate=0.3, layer_scale=True, conv_inplane=64, n_points=4, deform_num_heads=12,
                 deform_ratio=0.5, cffn_ratio=0.25, init_values=0.0,
                 interaction_indexes=((0, 2), (3, 5), (6, 8), (9, 11)), extra_extractors=2,
                 norm_cfg=dict(type='SyncBN', requires_grad=True), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.img_size, self.patch_size = img_size, patch_size
        self.interaction_indexes = [tuple(pair) for pair in interaction_indexes]
        self.patch_embed = PatchEmbed(in_channels=3, embed_dims=embed_dims, conv_type='Conv2d',
                                      kernel_size=patch_size, stride=patch_size, padding='corner', bias=True)
        grid = img_size // patch_size
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, embed_dims))  # MMSeg's layout: a cls entry
        drop_paths = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.layers = ModuleList(
            LayerScaleEncoderLayer(layer_scale_init=1.0 if layer_scale else 0.0, embed_dims=embed_dims,
                                   num_heads=num_heads, feedforward_channels=mlp_ratio * embed_dims,
                                   drop_path_rate=drop_path, qkv_bias=True, norm_cfg=LN)
            for drop_path in drop_paths)
        self.spm = SpatialPriorModule(conv_inplane, embed_dims, norm_cfg)
        self.level_embed = nn.Parameter(torch.zeros(3, embed_dims))
        # the official code gives the adapters' drop path the constant rate (author: unintended, kept for parity)
        self.interactions = nn.ModuleList(
            Interaction(embed_dims, deform_num_heads, n_points, deform_ratio, cffn_ratio, drop_path_rate,
                        init_values, extra_extractors if i == len(self.interaction_indexes) - 1 else 0)
            for i in range(len(self.interaction_indexes)))
        self.up = nn.ConvTranspose2d(embed_dims, embed_dims, 2, 2)
        self.out_norms = nn.ModuleList(build_norm_layer(norm_cfg, embed_dims)[1] for _ in range(4))

    # ---- weights ----
    def init_weights(self):
        """The official order: every Linear/norm/conv initialised, the deformable attentions the DETR way, level
        embeddings N(0, 1), injector gammas at init_values; then the ViT's tensors from the pretrained file."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.LayerNorm, nn.modules.batchnorm._BatchNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
                nn.init.normal_(module.weight, 0, (2.0 / fan_out) ** 0.5)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for module in self.modules():
            if isinstance(module, DeformableAttention):
                module.init_weights()
        trunc_normal_(self.pos_embed, std=.02)
        nn.init.normal_(self.level_embed)
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            self._load_vit(self.init_cfg['checkpoint'])

    def _load_vit(self, path):
        """The ViT's tensors of an MMSeg-layout ViT file (pretrained.py converts timm's); the position table is
        resized to this model's grid once here, as MMSeg's VisionTransformer does."""
        checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
        state = dict(checkpoint.get('state_dict', checkpoint))
        if 'pos_embed' in state and state['pos_embed'].shape != self.pos_embed.shape:
            old_grid = int((state['pos_embed'].shape[1] - 1) ** 0.5)
            new_grid = self.img_size // self.patch_size
            state['pos_embed'] = VisionTransformer.resize_pos_embed(
                state['pos_embed'], (new_grid, new_grid), (old_grid, old_grid), 'bicubic')
        self.load_state_dict(state, strict=False)  # the adapter's own tensors are not in the file

    # ---- forward ----
    def _position_embedding(self, hw):
        grid = self.img_size // self.patch_size
        pos = self.pos_embed
        if tuple(hw) != (grid, grid):
            pos = VisionTransformer.resize_pos_embed(pos, hw, (grid, grid), 'bicubic')
        return pos[:, 1:]

    def forward(self, x):
        if x.shape[-2] % 32 or x.shape[-1] % 32:
            raise ValueError(f'ViTAdapter needs inputs whose sides are multiples of 32, got {tuple(x.shape[-2:])}: '
                             'keep ResizeToMultiple(size_divisor=32) in the test pipeline.')
        batch = x.shape[0]
        c1, c2, c3, c4 = self.spm(x)
        level_shapes = [tuple(c.shape[-2:]) for c in (c2, c3, c4)]
        c = torch.cat([level.flatten(2).transpose(1, 2) + self.level_embed[i]
                       for i, level in enumerate((c2, c3, c4))], dim=1)
        tokens, hw = self.patch_embed(x)
        tokens = tokens + self._position_embedding(hw)
        inject_at = attention_positions([hw], level_shapes, x.device)   # ViT tokens look at the SPM levels
        extract_at = attention_positions(level_shapes, [hw], x.device)  # SPM tokens look at the ViT tokens
        vit_maps = []
        for interaction, (first, last) in zip(self.interactions, self.interaction_indexes):
            tokens, c = interaction(tokens, c, self.layers[first:last + 1], inject_at, extract_at, level_shapes)
            vit_maps.append(tokens.transpose(1, 2).reshape(batch, -1, *hw))
        levels = c.split([h * w for h, w in level_shapes], dim=1)
        c2, c3, c4 = (level.transpose(1, 2).reshape(batch, -1, h, w) for level, (h, w) in zip(levels, level_shapes))
        c1 = self.up(c2) + c1
        outs = [c + F.interpolate(vit, size=c.shape[-2:], mode='bilinear', align_corners=False)
                for c, vit in zip((c1, c2, c3, c4), vit_maps)]
        return [norm(out) for norm, out in zip(self.out_norms, outs)]
