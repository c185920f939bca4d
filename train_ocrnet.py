"""OCRNet HRNetV2p-W18 on ADE20K.

Paper:    Yuan, Chen, Wang. Object-Contextual Representations for Semantic Segmentation. ECCV 2020.
Official: mmseg ocrnet/ocrnet_hr18_4xb4-80k_ade20k-512x512.py
          80k iterations, 4 GPUs x 4 = 16 images per step, mIoU 37.79 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 16 accumulates gradients to the official 16;
          - weights: the recipe's own HRNetV2-W18 ImageNet file, read from pretrain/ (not one of the
            five seed files: download it, or --no-pretrain).
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::ocrnet/ocrnet_hr18_4xb4-80k_ade20k-512x512.py', iters=80_000,
                total_batch=16, miou=37.79)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/ocrnet.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.decode_head[1].ocr_channels = 128          # recipe: 256
    # cfg.optim_wrapper.optimizer.lr = 0.005               # recipe: 0.01
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
