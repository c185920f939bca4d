"""SegFormer MiT-B0 on ADE20K.

Paper:    Xie, Wang, Yu, Anandkumar, Alvarez, Luo. SegFormer: Simple and Efficient Design for
          Semantic Segmentation with Transformers. NeurIPS 2021.
Official: mmseg segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py
          160k iterations, 8 GPUs x 2 = 16 images per step, mIoU 37.41 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 16 accumulates gradients to the official 16;
          - weights: the recipe's own MiT-B0 file (already in MMSeg's layout), read from
            pretrain/mit_b0_20220624-7e0fe6dd.pth.
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py', iters=160_000,
                total_batch=16, miou=37.41)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/segformer.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.decode_head.channels = 128                 # recipe: 256
    # cfg.optim_wrapper.optimizer.lr = 0.00012             # recipe: 6e-05
    # cfg.model.backbone.drop_path_rate = 0.2              # recipe: 0.1
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
