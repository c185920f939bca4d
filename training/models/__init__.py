"""The project's own MMSeg modules, for the models MMSeg 1.x does not ship: ViT-Adapter (train_vit_deit.py) and
SeMask (train_sem_fpn.py). Registered in MMSeg's registry when imported; the configs import them through
custom_imports. They depend on MMSeg, MMCV and torch only."""
