"""ViT-B/16 + MLN + UPerNet on ADE20K.

Paper:    Dosovitskiy et al. An Image is Worth 16x16 Words: Transformers for Image Recognition at
          Scale. ICLR 2021.
Official: mmseg vit/vit_vit-b16_mln_upernet_8xb2-80k_ade20k-512x512.py
          80k iterations, total batch 8 GPUs x 2 = 16, mIoU 47.71 (single scale).
Model:    configs/vit_deit.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - model: MMSeg has no ViT-Adapter; this is MMSeg's ViT-B + UPerNet recipe, the closest
            official one.
          - weights: the timm ViT-B/16 (384) release pretrain/jx_vit_base_p16_384-83fb41ba.pth
            instead of the recipe's ViT-B/16 (224) file.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
