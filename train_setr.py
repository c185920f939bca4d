"""SETR-Naive ViT-L/16 on ADE20K.

Paper:    Zheng, Lu, Zhao, Zhu, Luo, Wang, Fu, Feng, Xiang, Torr, Zhang. Rethinking Semantic
          Segmentation from a Sequence-to-Sequence Perspective with Transformers. CVPR 2021.
Official: mmseg setr/setr_vit-l_naive_8xb2-160k_ade20k-512x512.py
          160k iterations, total batch 8 GPUs x 2 = 16, mIoU 48.28 (single scale).
Model:    configs/setr.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the timm ViT-L/16 (384) release pretrain/jx_vit_large_p16_384-b3be5167.pth, of
            which the recipe's vit_large_p16.pth is MMSeg's conversion (not one of the five seed
            files: download it, or --no-pretrain).
          - memory: ViT-L needs about 7 GB of RAM even for a CPU --smoke run.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
