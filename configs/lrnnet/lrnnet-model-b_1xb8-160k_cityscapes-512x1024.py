# Ablation Model B: SVN block with the 8x8 region grid only (S = 64).
_base_ = './lrnnet_1xb8-160k_cityscapes-512x1024.py'
model = dict(decode_head=dict(grid_sizes=(8, )))
