"""SeMask (Jain et al., SeMask: Semantically Masked Transformers for Semantic Segmentation, arXiv 2112.12782)
with the Semantic-FPN decoder, as MMSeg 1.x modules, written from the paper and the official recipe's facts
(Picsart-AI-Research/SeMask-Segmentation, MMSeg 0.11 only).

SeMaskSwinTransformer is MMSeg's SwinTransformer with a semantic layer after the blocks of every stage (before
its patch merging): windowed semantic attention whose query projection is a 150-class semantic map; its output
is the normalised input plus gamma times the attention (gamma starts at 0, so the pretrained Swin starts
unchanged but for the added LayerNorm). The backbone returns (4 feature maps, 4 semantic maps).
SeMaskFPNHead is MMSeg's FPNHead (the Semantic-FPN branch) on the features, plus a parameter-free semantic
("cate") branch summing the upsampled semantic maps; loss = CE(seg) + 0.4 x CE(cate); prediction uses the seg
branch only.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model.weight_init import trunc_normal_
from mmseg.models.backbones.swin import SwinTransformer
from mmseg.models.decode_heads.fpn_head import FPNHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS


class SemanticAttention(nn.Module):
    """Attention inside windows whose query is a semantic map: q, k = Linear(C, classes), v = Linear(C, C);
    softmax(q k^T) v (no 1/sqrt(d) scaling, as the official code), projected, with dropout."""

    def __init__(self, dims, num_classes, proj_drop=0.1):
        super().__init__()
        self.q = nn.Linear(dims, num_classes)
        self.k = nn.Linear(dims, num_classes)
        self.v = nn.Linear(dims, dims)
        self.proj = nn.Linear(dims, dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, windows):
        semantic = self.q(windows)                                   # (windows, tokens, classes)
        attention = (semantic @ self.k(windows).transpose(-2, -1)).softmax(dim=-1)
        return self.proj_drop(self.proj(attention @ self.v(windows))), semantic


class SemanticLayer(nn.Module):
    """y = LN(x); in windows of window_size: out = y + gamma * SemanticAttention(y). Returns (out, semantic map
    (B, classes, H, W)). The map is zero-padded to whole windows, and padded tokens take part in the softmax."""

    def __init__(self, dims, num_classes, window_size):
        super().__init__()
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(dims)
        self.attn = SemanticAttention(dims, num_classes)
        self.gamma = nn.Parameter(torch.zeros(1))

    def _windows(self, x, height, width):
        """(B, H', W', C) -> (B * windows, ws * ws, C)."""
        batch, _, _, channels = x.shape
        ws = self.window_size
        x = x.view(batch, height // ws, ws, width // ws, ws, channels).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, ws * ws, channels)

    def _merge(self, windows, batch, height, width):
        ws = self.window_size
        x = windows.view(batch, height // ws, width // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(batch, height, width, -1)

    def forward(self, x, hw_shape):
        batch, _, channels = x.shape
        height, width = hw_shape
        y = self.norm1(x).view(batch, height, width, channels)
        pad_h, pad_w = (-height) % self.window_size, (-width) % self.window_size
        padded = F.pad(y, (0, 0, 0, pad_w, 0, pad_h))
        attended, semantic = self.attn(self._windows(padded, height + pad_h, width + pad_w))
        attended = self._merge(attended, batch, height + pad_h, width + pad_w)[:, :height, :width]
        semantic = self._merge(semantic, batch, height + pad_h, width + pad_w)[:, :height, :width]
        out = y + self.gamma * attended
        return out.reshape(batch, height * width, channels), semantic.permute(0, 3, 1, 2).contiguous()


@MODELS.register_module()
class SeMaskSwinTransformer(SwinTransformer):
    """MMSeg's Swin with a semantic layer per stage; forward returns (features, semantic maps)."""

    # for the pretrained-weights count (training/pretrained.py): the semantic layers are not in a Swin file
    NEW_PARAMETERS = r'\.semantic_layer\.'

    def __init__(self, num_classes=150, sem_window_size=12, **kwargs):
        super().__init__(**kwargs)
        for stage, dims in zip(self.stages, self.num_features):
            stage.semantic_layer = SemanticLayer(dims, num_classes, sem_window_size)

    def init_weights(self):
        """MMSeg's Swin init (a pretrained file, or trunc_normal from scratch), then the semantic layers as the
        official code initialises every Linear (trunc_normal .02), their LayerNorms 1/0, and gamma 0."""
        super().init_weights()
        for stage in self.stages:
            for module in stage.semantic_layer.modules():
                if isinstance(module, nn.Linear):
                    trunc_normal_(module.weight, std=.02)
                    nn.init.zeros_(module.bias)
                elif isinstance(module, nn.LayerNorm):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)
            nn.init.zeros_(stage.semantic_layer.gamma)

    def forward(self, x):
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + self.absolute_pos_embed
        x = self.drop_after_pos(x)
        outs, semantic_maps = [], []
        for i, stage in enumerate(self.stages):
            for block in stage.blocks:
                x = block(x, hw_shape)
            x, semantic = stage.semantic_layer(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(x)
                outs.append(out.view(-1, *hw_shape, self.num_features[i]).permute(0, 3, 1, 2).contiguous())
                semantic_maps.append(semantic)
            if stage.downsample:
                x, hw_shape = stage.downsample(x, hw_shape)
        return outs, semantic_maps


@MODELS.register_module()
class SeMaskFPNHead(FPNHead):
    """MMSeg's FPNHead on the features + the semantic ("cate") branch on the semantic maps, weighted cate_weight."""

    def __init__(self, cate_weight=0.4, **kwargs):
        super().__init__(**kwargs)
        self.cate_weight = cate_weight

    def forward(self, inputs):
        """Seg logits at the first feature's size, from the features (inputs: the backbone's pair)."""
        features, _ = inputs
        return super().forward(features)

    def cate_logits(self, semantic_maps):
        """Each semantic map brought to the first one's size by x2 bilinear steps (map i: i steps), summed."""
        total = semantic_maps[0]
        for i, semantic in enumerate(semantic_maps[1:], start=1):
            for _ in range(i):
                semantic = F.interpolate(semantic, scale_factor=2, mode='bilinear', align_corners=self.align_corners)
            total = total + resize(semantic, size=total.shape[2:], mode='bilinear', align_corners=self.align_corners)
        return total

    def loss(self, inputs, batch_data_samples, train_cfg):
        losses = self.loss_by_feat(self.forward(inputs), batch_data_samples)
        cate = self.loss_by_feat(self.cate_logits(inputs[1]), batch_data_samples)
        losses['loss_cate'] = self.cate_weight * cate['loss_ce']
        return losses
