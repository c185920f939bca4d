"""Segmenter ViT-B/16 mask transformer on ADE20K.

Paper:    Strudel, Garcia, Laptev, Schmid. Segmenter: Transformer for Semantic Segmentation. ICCV
          2021.
Official: mmseg segmenter/segmenter_vit-b_mask_8xb1-160k_ade20k-512x512.py
          160k iterations, total batch 8 GPUs x 1 = 8, mIoU 49.60 (single scale).
Model:    configs/segmenter.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the timm ViT-B/16 (384) release pretrain/jx_vit_base_p16_384-83fb41ba.pth, of
            which the recipe's vit_base_p16_384 file is MMSeg's conversion.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
