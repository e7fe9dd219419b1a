"""Loading a released checkpoint into an architecture written here: strictly, as data only,
with one line for the user when the file does not fit."""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import nn

from gen2res_desktop.core.errors import Gen2ResError

_TORCH_PREFIX = re.compile(r"Error\(s\) in loading state_dict for \w+: ")


def load_strictly(
    make: Callable[[], nn.Module],
    sd: dict[str, torch.Tensor],
    label: str,
    *,
    looks_like: str,
    whose: str,
) -> nn.Module:
    """``make()`` (which reads the network's size from ``sd`` and may raise ValueError for
    a file that is not of its kind) with ``sd`` loaded strictly, in eval mode. Anything
    that does not fit is a Gen2ResError naming ``label``: "looks like ``looks_like`` but
    its weights do not fit", or "``whose`` weights are incomplete"."""
    try:
        with torch.device("meta"):  # the weights are about to be replaced: skip the init
            net = make()
        full = dict(sd)
        for name, buf in net.named_buffers():  # some checkpoints lack the BN step counts
            if name.endswith("num_batches_tracked") and name not in full:
                full[name] = torch.zeros((), dtype=buf.dtype)
        net.load_state_dict(full, strict=True, assign=True)
    except (RuntimeError, ValueError, KeyError, IndexError, TypeError) as e:
        text = _TORCH_PREFIX.sub("", " ".join(str(e).split()))
        raise Gen2ResError(
            f"{label}: looks like {looks_like} but its weights do not fit (damaged or "
            f"incomplete file?): {text if len(text) < 150 else text[:147] + '...'}"
        ) from e
    if any(t.is_meta for t in (*net.parameters(), *net.buffers())):
        raise Gen2ResError(f"{label}: {whose} weights are incomplete.")
    return net.eval()
