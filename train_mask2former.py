"""Mask2Former R50 (needs mmdet) on ADE20K.

Paper:    Cheng, Misra, Schwing, Kirillov, Girdhar. Masked-attention Mask Transformer for Universal
          Image Segmentation. CVPR 2022.
Official: mmseg mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py
          160k iterations, 8 GPUs x 2 = 16 images per step, mIoU 47.87 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 16 accumulates gradients to the official 16;
          - weights: the recipe's own torchvision ResNet-50, read from pretrain/resnet50-11ad3fa6.pth.
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py', iters=160_000,
                total_batch=16, miou=47.87)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/mask2former.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.decode_head.num_queries = 50               # recipe: 100
    # cfg.optim_wrapper.optimizer.lr = 5e-05               # recipe: 0.0001
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
