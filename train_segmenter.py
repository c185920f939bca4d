"""Segmenter ViT-B mask on ADE20K.

Paper:    Strudel, Garcia, Laptev, Schmid. Segmenter: Transformer for Semantic Segmentation. ICCV
          2021.
Official: mmseg segmenter/segmenter_vit-b_mask_8xb1-160k_ade20k-512x512.py
          160k iterations, 8 GPUs x 1 = 8 images per step, mIoU 49.60 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 8 accumulates gradients to the official 8;
          - weights: the timm ViT-B/16 (384) release pretrain/jx_vit_base_p16_384-83fb41ba.pth, of
            which the recipe's vit_base_p16_384 file is MMSeg's conversion.
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::segmenter/segmenter_vit-b_mask_8xb1-160k_ade20k-512x512.py', iters=160_000,
                total_batch=8, miou=49.60)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/segmenter.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.decode_head.num_layers = 1                 # recipe: 2
    # cfg.model.backbone.drop_path_rate = 0.0              # recipe: 0.1
    # cfg.optim_wrapper.optimizer.lr = 0.0005              # recipe: 0.001
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
