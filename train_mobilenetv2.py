"""MobileNetV2-D8 + DeepLabV3+ on ADE20K.

Paper:    Sandler, Howard, Zhu, Zhmoginov, Chen. MobileNetV2: Inverted Residuals and Linear
          Bottlenecks. CVPR 2018.
Official: mmseg mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb4-160k_ade20k-512x512.py
          160k iterations, 4 GPUs x 4 = 16 images per step, mIoU 34.02 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 16 accumulates gradients to the official 16;
          - weights: the recipe's own ImageNet MobileNetV2 file, read from pretrain/ (not one of the
            five seed files: download it, or --no-pretrain).
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb4-160k_ade20k-512x512.py', iters=160_000,
                total_batch=16, miou=34.02)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/mobilenetv2.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.backbone.widen_factor = 0.5                # recipe: 1.0
    # cfg.optim_wrapper.optimizer.lr = 0.005               # recipe: 0.01
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
