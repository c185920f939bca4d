"""STDC1 on ADE20K.

Paper:    Fan, Lai, Huang, Wei, Chai, Luo, Wei. Rethinking BiSeNet For Real-time Semantic
          Segmentation. CVPR 2021.
Official: none for ADE20K; adapted from mmseg stdc/stdc1_4xb12-80k_cityscapes-512x1024.py
          (80k iterations, 4 GPUs x 12 = 48 images per step, Cityscapes).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 48 accumulates gradients to the official 48;
          - recipe: NOT an official ADE20K recipe, no reference mIoU. configs/stdc.py adapts the
            Cityscapes one (150 classes, ADE pipeline, 512x512 crops; same schedule and optimizer).
          - weights: none, as in the Cityscapes recipe (trained from scratch).
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config=None, iters=80_000,
                total_batch=48, miou=None)  # no ADE20K recipe, so no reference mIoU

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/stdc.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.decode_head.channels = 128                 # recipe: 256
    # cfg.optim_wrapper.optimizer.lr = 0.005               # recipe: 0.01
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
