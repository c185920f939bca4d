"""Twins PCPVT-S + UPerNet on ADE20K.

Paper:    Chu, Tian, Wang, Zhang, Ren, Wei, Xia, Shen. Twins: Revisiting the Design of Spatial
          Attention in Vision Transformers. NeurIPS 2021.
Official: mmseg twins/twins_pcpvt-s_uperhead_8xb4-160k_ade20k-512x512.py
          160k iterations, 8 GPUs x 4 = 32 images per step, mIoU 46.04 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 32 accumulates gradients to the official 32;
          - weights: the recipe's own PCPVT-S file, read from pretrain/ (not one of the five seed
            files: download it, or --no-pretrain).
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::twins/twins_pcpvt-s_uperhead_8xb4-160k_ade20k-512x512.py', iters=160_000,
                total_batch=32, miou=46.04)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/twins.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.backbone.drop_path_rate = 0.1              # recipe: 0.2
    # cfg.optim_wrapper.optimizer.lr = 3e-05               # recipe: 6e-05
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
