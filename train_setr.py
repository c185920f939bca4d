"""SETR-Naive ViT-L on ADE20K.

Paper:    Zheng, Lu, Zhao, Zhu, Luo, Wang, Fu, Feng, Xiang, Torr, Zhang. Rethinking Semantic
          Segmentation from a Sequence-to-Sequence Perspective with Transformers. CVPR 2021.
Official: mmseg setr/setr_vit-l_naive_8xb2-160k_ade20k-512x512.py
          160k iterations, 8 GPUs x 2 = 16 images per step, mIoU 48.28 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 16 accumulates gradients to the official 16;
          - weights: the timm ViT-L/16 (384) release pretrain/jx_vit_large_p16_384-b3be5167.pth, of
            which the recipe's vit_large_p16.pth is MMSeg's conversion (not one of the five seed
            files: download it, or --no-pretrain).
          - memory: ViT-L needs about 7 GB of RAM even for a CPU --smoke run.
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::setr/setr_vit-l_naive_8xb2-160k_ade20k-512x512.py', iters=160_000,
                total_batch=16, miou=48.28)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/setr.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.decode_head.num_convs = 2                  # recipe: 1
    # cfg.optim_wrapper.optimizer.lr = 0.005               # recipe: 0.01
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
