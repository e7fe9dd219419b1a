"""Old-photo benchmark: the whole-photo repair (damage map, inpainting, denoising, tone and
colour) measured on synthetic old prints whose clean originals and damage are known.

``python -m benchmarks.oldphoto [--scale cpu|smoke] [--out DIR]``; results in
``benchmarks/results/oldphoto_<scale>.{md,json,png}``.
"""
