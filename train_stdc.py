"""STDC1 on ADE20K.

Paper:    Fan, Lai, Huang, Wei, Chai, Luo, Wei. Rethinking BiSeNet For Real-time Semantic
          Segmentation. CVPR 2021.
Official: mmseg stdc/stdc1_4xb12-80k_cityscapes-512x1024.py (Cityscapes only)
          80k iterations, total batch 4 GPUs x 12 = 48, no reference mIoU.
Model:    configs/stdc.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - recipe: NOT an official ADE20K recipe, no reference mIoU. configs/stdc.py adapts the
            Cityscapes one (150 classes, ADE pipeline, 512x512 crops; same schedule and optimizer).
          - weights: none, as in the Cityscapes recipe (trained from scratch).
"""
from common import train

if __name__ == '__main__':
    train(__file__)
