"""Small random-weight photo models of the real spandrel architectures, saved the ways
they are published (.pth with training wrappers, .safetensors, TorchScript .pt), so the
real reading, recognising and running code runs in the tests."""

from __future__ import annotations

from pathlib import Path


def build(kind: str, seed: int = 0):
    """A small model of ``kind`` (its real architecture, few channels and blocks)."""
    import torch

    torch.manual_seed(seed)
    if kind == "scunet":
        from spandrel.architectures.SCUNet import SCUNet

        return SCUNet(config=[1, 1, 1, 1, 1, 1, 1], dim=64)  # 64: two 32-channel heads
    if kind == "drunet":
        from spandrel.architectures.DRUNet import DRUNet

        return DRUNet(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=2)  # RGB + noise level
    if kind == "fbcnn":
        from spandrel.architectures.FBCNN import FBCNN

        return FBCNN(nc=[8, 16, 32, 512], nb=2)  # its quality predictor is fixed at 512
    if kind == "esrgan-x2":  # Real-ESRGAN x2plus: RRDBNet behind a pixel-unshuffle
        from spandrel.architectures.ESRGAN import ESRGAN

        return ESRGAN(in_nc=12, out_nc=3, num_filters=8, num_blocks=1, scale=4, shuffle_factor=2)
    if kind == "compact-x4":  # realesr-general-x4v3's SRVGGNetCompact
        from spandrel.architectures.Compact import Compact

        return Compact(num_feat=8, num_conv=2, upscale=4)
    if kind == "fdncnn":
        from spandrel.architectures.DnCNN import DnCNN

        return DnCNN(in_nc=4, out_nc=3, nc=8, nb=8, mode="FDnCNN")
    if kind == "lama":
        from spandrel.architectures.LaMa import LaMa

        return LaMa(in_nc=4, out_nc=3)  # image + mask in; the real (big) architecture
    raise ValueError(kind)


# kind -> (file name, how it is saved, expected arch, task, scale)
FILES = {
    "scunet": ("scunet_color_real_psnr.pth", "plain", "SCUNet", "denoise", 1),
    "drunet": ("drunet_color.safetensors", "safetensors", "DRUNet", "denoise", 1),
    "fbcnn": ("fbcnn_color.pth", "half", "FBCNN", "jpeg", 1),
    "esrgan-x2": ("RealESRGAN_x2plus.pth", "params_ema", "ESRGAN", "upscale", 2),
    "compact-x4": ("realesr-general-x4v3.pth", "params", "Compact", "upscale", 4),
    "fdncnn": ("fdncnn_color.pth", "plain", "DnCNN", "denoise", 1),
}


def save(kind: str, folder: Path) -> Path:
    import torch
    from safetensors.torch import save_file

    name, how, *_ = FILES[kind]
    sd = build(kind).state_dict()
    path = folder / name
    if how == "safetensors":
        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    elif how == "half":
        torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, path)
    elif how == "params_ema":  # as BasicSR writes it: both sets, with DataParallel prefixes
        wrapped = {f"module.{k}": v for k, v in sd.items()}
        torch.save({"params": wrapped, "params_ema": wrapped}, path)
    elif how == "params":
        torch.save({"params": sd}, path)
    else:
        torch.save(sd, path)
    return path


def save_lama_torchscript(folder: Path):
    """LaMa traced and saved as TorchScript (like big-lama.pt); returns (path, state_dict)."""
    import warnings

    import torch

    model = build("lama").eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(
            model, (torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)), check_trace=False
        )
    path = folder / "big-lama.pt"
    traced.save(str(path))
    return path, model.state_dict()
