"""Speed benchmark: the product's defaults against the paper's recipe, on the current device.

    python benchmarks/speed.py                 # full size (the real 256 px, 113.7 M UNet)
    python benchmarks/speed.py --scale smoke   # tiny, seconds; what the test suite runs

Random weights of the real architecture are enough for timing. Stages print their result
as they finish and the JSON / markdown files are rewritten after each stage, so a run cut
short still leaves its numbers. Where a stage would take hours on a CPU (a 16-image album,
thousands of training iterations) it is *estimated* from measured per-step times and
labelled so; on a GPU every stage is measured end to end.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gen2res_desktop.core.devices import autocast, autocast_dtype, resolve_device  # noqa: E402
from gen2res_desktop.core.diffusion import (  # noqa: E402
    AlbumSettings,
    RestoreSettings,
    Schedule,
    generate_album,
    restore_image,
)
from gen2res_desktop.core.images import tensor_to_pil  # noqa: E402
from gen2res_desktop.core.priors import LoadedPrior, PriorInfo  # noqa: E402
from gen2res_desktop.core.training import TrainOptions, train_adapter  # noqa: E402

# google/ddpm-ema-celebahq-256 and google/ddpm-ema-cat-256 share this architecture.
DDPM_256 = dict(
    sample_size=256,
    in_channels=3,
    out_channels=3,
    layers_per_block=2,
    block_out_channels=(128, 128, 256, 256, 512, 512),
    down_block_types=("DownBlock2D",) * 4 + ("AttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "AttnUpBlock2D") + ("UpBlock2D",) * 4,
)
SMOKE = dict(
    sample_size=32,
    in_channels=3,
    out_channels=3,
    layers_per_block=1,
    block_out_channels=(32, 64),
    down_block_types=("DownBlock2D", "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    attention_head_dim=8,
    norm_num_groups=8,
)
# Dense bf16 tensor-core peaks (TFLOP/s), for the utilisation figure.
BF16_PEAK_TFLOPS = {
    "H100 80GB HBM3": 989.0,
    "H100 PCIe": 756.0,
    "H200": 989.0,
    "A100": 312.0,
    "L4": 121.0,
}

# The paper's recipe (section 4.1 / 4.2) and the product's defaults.
PAPER_ALBUM_ITERS, PAPER_PERSONAL_ITERS, PAPER_BATCH, PAPER_K = 3000, 5000, 4, 200


@dataclass
class Row:
    stage: str
    value: float
    unit: str
    how: str  # "measured" or "estimated from ..."
    note: str = ""


def build_prior(config: dict, device: torch.device) -> LoadedPrior:
    from diffusers import DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(**config).eval().requires_grad_(False).to(device)
    info = PriorInfo(
        name="random-ddpm",
        kind="face",
        path=Path("."),
        resolution=config["sample_size"],
        parameters=sum(p.numel() for p in unet.parameters()),
        weights_hash="random",
        source="random weights",
    )
    return LoadedPrior(info, unet, DDPMScheduler(num_train_timesteps=1000), device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: torch.device, reps: int, warmup: int = 1) -> float:
    """Median seconds per call after warm-up."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def peak_memory_gib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process RSS, KiB -> GiB


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def forward_flops(prior: LoadedPrior) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    r = prior.resolution
    x = torch.randn(1, 3, r, r, device=prior.device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        prior.unet(x, torch.tensor([10], device=prior.device))
    return float(counter.get_total_flops())


class Report:
    def __init__(self, out: Path, scale: str, device: torch.device, prior: LoadedPrior) -> None:
        self.rows: list[Row] = []
        self.out = out
        self.stem = f"speed_{scale}_{device.type}"
        name = (
            torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else platform.processor() or "CPU"
        )
        self.header = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "device": name,
            "device_type": device.type,
            "cpu_threads": torch.get_num_threads(),
            "scale": scale,
            "resolution": prior.resolution,
            "parameters_m": round(prior.info.parameters / 1e6, 1),
            "torch": torch.__version__,
            "python": platform.python_version(),
        }

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"{row.stage:<48} {row.value:12.4g} {row.unit:<10} {row.how} {row.note}", flush=True)
        self.write()

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"{self.stem}.json").write_text(
            json.dumps({**self.header, "rows": [asdict(r) for r in self.rows]}, indent=2)
        )
        lines = [f"# Speed benchmark ({self.header['scale']}, {self.header['device']})", ""]
        lines += [f"- {k}: {v}" for k, v in self.header.items()]
        lines += ["", "| stage | value | unit | how | note |", "| --- | ---: | --- | --- | --- |"]
        lines += [
            f"| {r.stage} | {r.value:.4g} | {r.unit} | {r.how} | {r.note} |" for r in self.rows
        ]
        (self.out / f"{self.stem}.md").write_text("\n".join(lines) + "\n")


def run(scale: str, device_name: str | None, out: Path) -> Report:
    device = resolve_device(device_name)
    prior = build_prior(SMOKE if scale == "smoke" else DDPM_256, device)
    r = prior.resolution
    report = Report(out, scale, device, prior)
    on_cpu = device.type == "cpu"
    reps = 1 if on_cpu and scale != "smoke" else 5
    dtype = autocast_dtype(device)

    # 1. UNet forward throughput
    flops = forward_flops(prior)
    report.add(Row("UNet forward FLOPs (batch 1)", flops / 1e9, "GFLOP", "counted"))
    for batch in (1, 16):
        x = torch.randn(batch, 3, r, r, device=device)
        t = torch.full((batch,), 100, device=device)

        def fwd(x=x, t=t) -> None:
            with torch.no_grad(), autocast(device, dtype):
                prior.unet(x, t)

        sec = timed(fwd, device, reps if batch == 1 else max(1, reps // 2))
        peak = BF16_PEAK_TFLOPS.get(report.header["device"])
        util = (
            f"{flops * batch / sec / (peak * 1e12):.1%} of bf16 peak" if peak and not on_cpu else ""
        )
        report.add(
            Row(f"forward, batch {batch} (product precision)", sec * 1e3, "ms", "measured", util)
        )
        if batch == 1:
            forward_b1 = sec
        else:
            forward_b16 = sec

    # 2. training iterations: product LoRA defaults vs the paper's full fine-tune in fp32
    opts = TrainOptions(steps=2 if on_cpu and scale != "smoke" else 20, batch_size=PAPER_BATCH)
    images = [torch.rand(3, r, r) for _ in range(8)]
    pil = [tensor_to_pil(i * 2 - 1) for i in images]
    with tempfile.TemporaryDirectory() as tmp:
        reset_peak(device)
        start = time.perf_counter()
        res = train_adapter(prior, pil, Path(tmp) / "a.safetensors", opts)
        sync(device)
        lora_iter = (time.perf_counter() - start) / opts.steps
    del res
    report.add(
        Row(
            "LoRA iteration, batch 4 (product default)",
            lora_iter * 1e3,
            "ms",
            "measured",
            f"peak {peak_memory_gib(device):.2f} GiB",
        )
    )

    full_unet = copy.deepcopy(prior.unet).train().requires_grad_(True)
    optim = torch.optim.AdamW(full_unet.parameters(), lr=1e-5)
    xb = torch.randn(PAPER_BATCH, 3, r, r, device=device)
    tb = torch.randint(0, 1000, (PAPER_BATCH,), device=device)

    def full_step() -> None:
        loss = torch.nn.functional.mse_loss(full_unet(xb, tb).sample, xb)
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)

    reset_peak(device)
    full_iter = timed(full_step, device, max(1, opts.steps // 2))
    report.add(
        Row(
            "full fine-tune iteration, batch 4, fp32 (paper)",
            full_iter * 1e3,
            "ms",
            "measured",
            f"peak {peak_memory_gib(device):.2f} GiB",
        )
    )

    # 3. restore one face (product default settings and paper recipe)
    face = pil[0]
    # The smoke scale shrinks K so the stages still run end to end in seconds.
    k = 10 if scale == "smoke" else PAPER_K
    product = RestoreSettings(strength=k if scale == "smoke" else RestoreSettings().strength)
    paper = RestoreSettings(strength=k, steps=None)
    steps_product = len(Schedule(prior.scheduler).timesteps(product.strength, product.steps))
    if on_cpu and scale != "smoke":
        restore_product = forward_b1 * steps_product
        restore_paper = forward_b1 * PAPER_K
        how = "estimated: steps x measured batch-1 forward"
    else:
        restore_product = timed(lambda: restore_image(prior, face, product), device, 3)
        restore_paper = timed(lambda: restore_image(prior, face, paper), device, 1)
        how = "measured"
    report.add(
        Row(f"restore one face, product default ({steps_product} steps)", restore_product, "s", how)
    )
    report.add(Row(f"restore one face, paper ({k} ancestral steps)", restore_paper, "s", how))

    # 4. generative album (16 samples)
    album = AlbumSettings()
    album_steps = 10 if scale == "smoke" else album.strength
    if on_cpu and scale != "smoke":
        guided = album_steps // album.guidance_every
        album_time = forward_b16 * album_steps + guided * 2 * forward_b16
        how = "estimated: steps x batch-16 forward (+backward on guided steps)"
    else:
        start = time.perf_counter()
        generate_album(prior, face, AlbumSettings(count=16, strength=album_steps))
        sync(device)
        album_time = time.perf_counter() - start
        how = "measured"
    report.add(Row(f"generative album, 16 samples, K={album_steps}", album_time, "s", how))

    # 5. end to end
    single_train = 500
    personal_train = TrainOptions().steps
    report.add(
        Row(
            "single-photo mode end to end (product)",
            album_time + single_train * lora_iter + restore_product,
            "s",
            "sum of the stages above",
            f"{single_train} LoRA steps",
        )
    )
    report.add(
        Row(
            "single-photo mode end to end (paper recipe)",
            album_time + PAPER_ALBUM_ITERS * full_iter + restore_paper,
            "s",
            "sum of the stages above",
            "3000 full fine-tune iterations",
        )
    )
    report.add(
        Row(
            "personal album adapter (product)",
            personal_train * lora_iter,
            "s",
            "iterations x measured iteration",
            f"{personal_train} LoRA steps",
        )
    )
    report.add(
        Row(
            "personal album fine-tune (paper recipe)",
            PAPER_PERSONAL_ITERS * full_iter,
            "s",
            "iterations x measured iteration",
            "5000 iterations",
        )
    )
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=("full", "smoke"), default="full")
    p.add_argument("--device", default=None)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    report = run(args.scale, args.device, args.out)
    print(f"Wrote {args.out / report.stem}.md and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
