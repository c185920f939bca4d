"""FCN R50-D8 on ADE20K.

Paper:    Long, Shelhamer, Darrell. Fully Convolutional Networks for Semantic Segmentation. CVPR 2015.
Official: mmseg fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py
          80k iterations, 4 GPUs x 4 = 16 images per step, mIoU 35.94 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 16 accumulates gradients to the official 16;
          - backbone: torchvision ResNet-50 (pretrain/resnet50-11ad3fa6.pth) on type='ResNet' instead of
            ResNetV1c with open-mmlab weights (why: configs/fcn.py); expect a small mIoU difference.
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py', iters=80_000,
                total_batch=16, miou=35.94)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/fcn.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.decode_head.num_convs = 1                  # recipe: 2
    # cfg.model.decode_head.dropout_ratio = 0.0            # recipe: 0.1
    # cfg.optim_wrapper.optimizer.lr = 0.005               # recipe: 0.01
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
