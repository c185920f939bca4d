"""ResNeSt-S101-D8 FCN on ADE20K.

Paper:    Zhang et al. ResNeSt: Split-Attention Networks. CVPRW 2022.
Official: mmseg resnest/resnest_s101-d8_fcn_4xb4-160k_ade20k-512x512.py
          160k iterations, 4 GPUs x 4 = 16 images per step, mIoU 45.62 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 16 accumulates gradients to the official 16;
          - weights: the recipe's own ResNeSt-101 file, read from pretrain/ (not one of the five
            seed files: download it, or --no-pretrain).
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::resnest/resnest_s101-d8_fcn_4xb4-160k_ade20k-512x512.py', iters=160_000,
                total_batch=16, miou=45.62)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/resnest.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.backbone.radix = 4                         # recipe: 2
    # cfg.optim_wrapper.optimizer.lr = 0.005               # recipe: 0.01
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
