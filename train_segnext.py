"""SegNeXt MSCAN-T on ADE20K.

Paper:    Guo, Lu, Hou, Liu, Cheng, Hu. SegNeXt: Rethinking Convolutional Attention Design for
          Semantic Segmentation. NeurIPS 2022.
Official: mmseg segnext/segnext_mscan-t_1xb16-adamw-160k_ade20k-512x512.py
          160k iterations, total batch 1 GPU x 16 = 16, mIoU 41.50 (single scale).
Model:    configs/segnext.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the recipe's own MSCAN-T file, read from pretrain/ (not one of the five seed
            files: download it, or --no-pretrain).
"""
from common import train

if __name__ == '__main__':
    train(__file__)
