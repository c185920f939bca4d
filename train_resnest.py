"""ResNeSt-S101-D8 FCN on ADE20K.

Paper:    Zhang et al. ResNeSt: Split-Attention Networks. CVPRW 2022.
Official: mmseg resnest/resnest_s101-d8_fcn_4xb4-160k_ade20k-512x512.py
          160k iterations, total batch 4 GPUs x 4 = 16, mIoU 45.62 (single scale).
Model:    configs/resnest.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the recipe's own ResNeSt-101 file, read from pretrain/ (not one of the five
            seed files: download it, or --no-pretrain).
"""
from common import train

if __name__ == '__main__':
    train(__file__)
