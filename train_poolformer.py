"""PoolFormer-S12 + FPN (needs mmpretrain) on ADE20K.

Paper:    Yu, Luo, Zhou, Si, Zhou, Wang, Feng, Yan. MetaFormer is Actually What You Need for Vision.
          CVPR 2022.
Official: mmseg poolformer/fpn_poolformer_s12_8xb4-40k_ade20k-512x512.py
          40k (the official length, not 80k) iterations, 8 GPUs x 4 = 32 images per step, mIoU 36.68 (single scale).
Differs:  - batch: 2 per GPU (the protocol); --total-batch 32 accumulates gradients to the official 32;
          - weights: pretrain/poolformer_s12_8xb256_in1k_20221230-a59e4e30.pth (an MMPretrain
            classifier checkpoint) instead of the recipe's 3rd-party file.
          - precision: the recipe's AmpOptimWrapper is kept on GPU and becomes fp32 where there is
            none (CPU --smoke).
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='mmseg::poolformer/fpn_poolformer_s12_8xb4-40k_ade20k-512x512.py', iters=40_000,
                total_batch=32, miou=36.68)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/poolformer.py')  # the official recipe + this model's deltas (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.backbone.drop_path_rate = 0.1              # recipe: 0.0
    # cfg.optim_wrapper.optimizer.lr = 0.0001              # recipe: 0.0002
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
