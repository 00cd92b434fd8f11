# Ablation Model C: 8x8 and 4x4 region grids (S = 80); the paper's LRNNet.
_base_ = './lrnnet_1xb8-160k_cityscapes-512x1024.py'
model = dict(decode_head=dict(grid_sizes=(8, 4)))
