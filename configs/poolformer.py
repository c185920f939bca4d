# PoolFormer-S12 + FPN, ADE20K 512x512, 40k (the official recipe's length): the official MMSeg recipe
# (needs mmpretrain), PoolFormer-S12 weights read from pretrain/ (an MMPretrain classifier checkpoint,
# hence the 'backbone.' prefix). Its AmpOptimWrapper becomes fp32 automatically where there is no GPU.
_base_ = 'mmseg::poolformer/fpn_poolformer_s12_8xb4-40k_ade20k-512x512.py'
model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained', checkpoint='pretrain/poolformer_s12_8xb256_in1k_20221230-a59e4e30.pth', prefix='backbone.')))
