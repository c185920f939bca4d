"""Twins PCPVT-S + UPerNet on ADE20K.

Paper:    Chu, Tian, Wang, Zhang, Ren, Wei, Xia, Shen. Twins: Revisiting the Design of Spatial
          Attention in Vision Transformers. NeurIPS 2021.
Official: mmseg twins/twins_pcpvt-s_uperhead_8xb4-160k_ade20k-512x512.py
          160k iterations, total batch 8 GPUs x 4 = 32, mIoU 46.04 (single scale).
Model:    configs/twins.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the recipe's own PCPVT-S file, read from pretrain/ (not one of the five seed
            files: download it, or --no-pretrain).
"""
from common import train

if __name__ == '__main__':
    train(__file__)
