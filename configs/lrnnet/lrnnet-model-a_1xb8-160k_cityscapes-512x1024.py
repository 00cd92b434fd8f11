# Ablation Model A: the LRNNet encoder and classifier without the SVN block.
_base_ = './lrnnet_1xb8-160k_cityscapes-512x1024.py'
model = dict(decode_head=dict(grid_sizes=()))
