"""PoolFormer-S12 + FPN (needs mmpretrain) on ADE20K.

Paper:    Yu, Luo, Zhou, Si, Zhou, Wang, Feng, Yan. MetaFormer is Actually What You Need for Vision.
          CVPR 2022.
Official: mmseg poolformer/fpn_poolformer_s12_8xb4-40k_ade20k-512x512.py
          40k (the official length, not 80k) iterations, total batch 8 GPUs x 4 = 32, mIoU 36.68 (single scale).
Model:    configs/poolformer.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: pretrain/poolformer_s12_8xb256_in1k_20221230-a59e4e30.pth (an MMPretrain
            classifier checkpoint) instead of the recipe's 3rd-party file.
          - precision: the recipe's AmpOptimWrapper is kept on GPU and becomes fp32 where there is
            none (CPU --smoke).
"""
from common import train

if __name__ == '__main__':
    train(__file__)
