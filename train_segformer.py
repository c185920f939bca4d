"""SegFormer MiT-B0 on ADE20K.

Paper:    Xie, Wang, Yu, Anandkumar, Alvarez, Luo. SegFormer: Simple and Efficient Design for
          Semantic Segmentation with Transformers. NeurIPS 2021.
Official: mmseg segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py
          160k iterations, total batch 8 GPUs x 2 = 16, mIoU 37.41 (single scale).
Model:    configs/segformer.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the recipe's own MiT-B0 file (already in MMSeg's layout), read from
            pretrain/mit_b0_20220624-7e0fe6dd.pth.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
