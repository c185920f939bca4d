"""Swin-B (window 12, 22k, 384) + UPerNet on ADE20K.

Paper:    Liu, Lin, Cao, Hu, Wei, Zhang, Lin, Guo. Swin Transformer: Hierarchical Vision Transformer
          using Shifted Windows. ICCV 2021.
Official: mmseg swin/swin-base-patch4-window12-in22k-384x384-pre_upernet_8xb2-160k_ade20k-512x512.py
          160k iterations, 8 GPUs x 2 = 16 images per step, mIoU 50.76 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 16 accumulates gradients to the official 16;
          - weights: the Swin authors' release pretrain/swin_base_patch4_window12_384_22k.pth
            instead of MMSeg's converted copy of it.
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::swin/swin-base-patch4-window12-in22k-384x384-pre_upernet_8xb2-160k_ade20k-512x512.py', iters=160_000,
                total_batch=16, miou=50.76)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/swin.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.backbone.drop_path_rate = 0.2              # recipe: 0.3
    # cfg.optim_wrapper.optimizer.lr = 3e-05               # recipe: 6e-05
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
