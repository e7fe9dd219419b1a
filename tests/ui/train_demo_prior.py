"""The face prior behind docs/screenshots (not a test; pytest does not collect it).

No real face prior can be downloaded here, so the screenshots use a small 128 px
``UNet2DModel`` (6.3 M parameters) trained from scratch on one photo: skimage's astronaut,
FFHQ-aligned by the app's own face code, with random crops of 83-100 % of the aligned
square, flips and brightness jitter (a "personal album" of one). 5,000 steps at batch 32
took 5.5 minutes on an H100; on a CPU it is impractical.

    python tests/ui/train_demo_prior.py OUT_FOLDER [--steps 5000]

writes a diffusers folder (``unet/`` + ``scheduler/``) that ``make_screenshots.py --prior``
or the Models dialog imports.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

FIELD = 144  # the aligned square is taken larger than 128 so crops can move and zoom


def aligned_face() -> torch.Tensor:
    from PIL import Image
    from skimage import data

    from gen2res_desktop.core.faces import align_face, detect_faces

    img = Image.fromarray(data.astronaut())
    crop = np.asarray(align_face(img, detect_faces(img)[0], FIELD).crop, dtype=np.float32)
    return torch.from_numpy(crop).permute(2, 0, 1)[None] / 127.5 - 1


def main() -> int:
    from diffusers import DDPMScheduler, UNet2DModel

    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=5000)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    face = aligned_face().to(dev)
    unet = UNet2DModel(
        sample_size=128,
        in_channels=3,
        out_channels=3,
        layers_per_block=2,
        block_out_channels=(32, 64, 128, 128),
        down_block_types=("DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
    ).to(dev)
    sched = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=True)
    ab = sched.alphas_cumprod.to(dev)
    opt = torch.optim.AdamW(unet.parameters(), lr=3e-4)
    lrs = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=3e-4, total_steps=args.steps, pct_start=0.05
    )
    batch = 32

    def sample() -> torch.Tensor:
        crops = []
        for _ in range(batch):
            s = int(rng.integers(120, FIELD + 1))
            x, y = (int(v) for v in rng.integers(0, FIELD + 1 - s, 2))
            c = F.interpolate(
                face[:, :, y : y + s, x : x + s], size=128, mode="bilinear", antialias=True
            )
            crops.append(c.flip(-1) if rng.random() < 0.5 else c)
        x0 = torch.cat(crops)
        gain = torch.empty(batch, 1, 1, 1, device=dev).uniform_(0.85, 1.1)
        shift = torch.empty(batch, 1, 1, 1, device=dev).uniform_(-0.08, 0.08)
        return (x0 * gain + shift).clamp(-1, 1)

    start = time.monotonic()
    for step in range(args.steps):
        x0 = sample()
        t = torch.randint(0, 1000, (batch,), device=dev)
        noise = torch.randn_like(x0)
        a = ab[t][:, None, None, None]
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            pred = unet(a.sqrt() * x0 + (1 - a).sqrt() * noise, t).sample
        loss = F.mse_loss(pred.float(), noise)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        lrs.step()
        if step % 500 == 0:
            print(f"{step} loss {loss.item():.4f} {time.monotonic() - start:.0f} s", flush=True)
    unet.save_pretrained(args.out / "unet")
    sched.save_pretrained(args.out / "scheduler")
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
