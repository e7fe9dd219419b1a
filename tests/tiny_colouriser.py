"""Random-weight DDColor colourisers of the real architecture, with the released key
names: the tiny config itself, and a toy shape (same layers, few channels) for tests where
width is no matter. Their spectral-norm vectors are the weights' top singular pair, as
training leaves them, and the last layer is scaled so the predicted a and b span the range
of real colours (tens of Lab units) rather than random extremes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TOY = dict(
    depths=(1, 1, 1, 1),
    dims=(8, 16, 32, 64),
    nf=32,
    num_queries=8,
    hidden_dim=16,
    dec_layers=3,
    dim_feedforward=32,
)
TOY_SIZE = 64  # the toy's input size in tests (the authors' 512 is the default)


def random_net(toy: bool = True, seed: int = 0, spread: float = 30.0):
    import torch
    from skimage import data

    from gen2res_desktop.core.photo import colourise, ddcolor

    torch.manual_seed(seed)
    net = ddcolor.DDColorNet(ddcolor.DDColorShape(**TOY) if toy else ddcolor.TINY).eval()
    with torch.no_grad():
        for m in net.modules():
            w = getattr(m, "weight_orig", None)
            if isinstance(w, torch.Tensor):
                u, _, vh = torch.linalg.svd(w.reshape(w.shape[0], -1), full_matrices=False)
                m.weight_u.copy_(u[:, 0])
                m.weight_v.copy_(vh[0])
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
        grey = np.repeat(data.camera()[..., None], 3, axis=2)
        size = TOY_SIZE if toy else 128
        x = torch.from_numpy(colourise.model_input(grey, size))[None]
        net.refine_net[0][0].weight_u.mul_(float(net(x).std()) / spread)
    return net


def save_released(net, path: Path) -> Path:
    """Saved as the authors' .pth files are: ``{"params": state_dict}``."""
    import torch

    torch.save({"params": net.state_dict()}, path)
    return path
