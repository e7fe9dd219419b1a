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
import gc
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gen2res_desktop.core import defaults, runtimes, training  # noqa: E402
from gen2res_desktop.core.devices import (  # noqa: E402
    as_layout,
    autocast,
    autocast_dtype,
    in_layout,
    native_bf16,
    resolve_device,
)
from gen2res_desktop.core.diffusion import (  # noqa: E402
    AlbumSettings,
    RestoreSettings,
    Schedule,
    restore_image,
)
from gen2res_desktop.core.images import tensor_to_pil  # noqa: E402
from gen2res_desktop.core.priors import LoadedPrior, PriorInfo  # noqa: E402
from gen2res_desktop.core.runtimes import FastCpu, accelerate, merge_adapter  # noqa: E402
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
BF16 = "torch bf16"  # torch with bf16 autocast: what the app runs on a native-bf16 CPU
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
# issue 16's goals on the 2-core CPU, in seconds
GOALS = {"restore": 90.0, "adapter": 2 * 3600.0, "single": 3600.0}
CPU = torch.device("cpu")


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
    # in the product's memory layout, as core.priors.load_prior leaves it
    unet = in_layout(UNet2DModel(**config).eval().requires_grad_(False).to(device), device)
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
        self.skipped: list[str] = []  # what could not run here, and why
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
            json.dumps(
                {**self.header, "rows": [asdict(r) for r in self.rows], "skipped": self.skipped},
                indent=2,
            )
        )
        lines = [f"# Speed benchmark ({self.header['scale']}, {self.header['device']})", ""]
        lines += [f"- {k}: {v}" for k, v in self.header.items()]
        lines += ["", "| stage | value | unit | how | note |", "| --- | ---: | --- | --- | --- |"]
        lines += [
            f"| {r.stage} | {r.value:.4g} | {r.unit} | {r.how} | {r.note} |" for r in self.rows
        ]
        if self.skipped:
            lines += ["", "Not measured here:", ""] + [f"- {s}" for s in self.skipped]
        (self.out / f"{self.stem}.md").write_text("\n".join(lines) + "\n")


def rss_gib() -> float:
    """The process's resident memory now (Linux), else its peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return peak_memory_gib(torch.device("cpu"))


def lora_prior(prior: LoadedPrior) -> LoadedPrior:
    """The prior with a product-default LoRA of random (non-zero) weights, as a trained
    subject adapter would be applied."""
    from gen2res_desktop.core.adapters import attach_lora

    unet = copy.deepcopy(prior.unet)
    attach_lora(unet, defaults.LORA_RANK, float(defaults.LORA_RANK), defaults.LORA_TARGETS)
    in_layout(unet, prior.device)  # as core.adapters.with_adapter does
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.01)
    unet.requires_grad_(False).eval()
    return replace(prior, unet=unet, adapter="random LoRA", adapter_hash="random-lora")


def install_mib(packages: list[str], *, added: bool = True) -> float:
    """Installed size of ``packages`` and their dependencies; with ``added``, only those
    the app does not install anyway."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    def closure(names: list[str]) -> set[str]:
        seen: set[str] = set()
        todo = list(names)
        while todo:
            name = canonicalize_name(todo.pop())
            if name in seen:
                continue
            try:
                dist = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                continue
            seen.add(name)
            for req in dist.requires or []:
                r = Requirement(req)
                if r.marker is None or r.marker.evaluate({"extra": ""}):
                    todo.append(r.name)
        return seen

    base = closure(["gen2res-desktop"]) if added else set()
    total = 0
    for name in closure(packages) - base:
        for f in metadata.distribution(name).files or []:
            try:
                total += f.locate().stat().st_size
            except OSError:
                pass
    return total / 2**20


@dataclass
class Engine:
    name: str
    eps: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    forward_s: float
    setup_s: float
    max_error: float


def compare_runtimes(
    report: Report, lora: LoadedPrior, scale: str, cache: Path
) -> tuple[dict[str, Engine], list[str]]:
    """The 256 px forward at batch 1 with the LoRA merged, on each CPU engine."""
    r = lora.resolution
    x = torch.randn(1, 3, r, r, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([150])
    reps = 3
    merged = merge_adapter(lora)
    engines: dict[str, Engine] = {}
    skipped: list[str] = []

    def torch_eps(unet: torch.nn.Module) -> Callable:
        def run(xb: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return unet(xb, tb).sample

        return run

    base = torch_eps(merged.unet)
    expected = base(x, t)
    sec = timed(lambda: base(x, t), CPU, reps)
    engines["torch"] = Engine("torch", base, sec, 0.0, 0.0)
    report.add(
        Row(
            "forward, torch eager fp32, LoRA merged",
            sec * 1e3,
            "ms",
            "measured",
            f"{reps} reps; RSS {rss_gib():.2f} GiB",
        )
    )
    unmerged = torch_eps(lora.unet)
    sec_lora = timed(lambda: unmerged(x, t), CPU, 2)
    report.add(
        Row(
            "forward, torch eager fp32, LoRA layers unmerged",
            sec_lora * 1e3,
            "ms",
            "measured",
            "the same layout, the adapter not merged",
        )
    )

    if scale == "full" or os.environ.get("SPEED_COMPILE"):
        try:
            compiled_unet = torch.compile(copy.deepcopy(merged.unet), backend="inductor")
            comp = torch_eps(compiled_unet)
            start = time.perf_counter()
            out = comp(x, t)
            setup = time.perf_counter() - start
            sec = timed(lambda: comp(x, t), CPU, reps)
            err = float((out - expected).abs().max())
            engines["torch.compile"] = Engine("torch.compile", comp, sec, setup, err)
            report.add(
                Row(
                    "forward, torch.compile (inductor)",
                    sec * 1e3,
                    "ms",
                    "measured",
                    f"compile {setup:.0f} s per process; max abs diff {err:.1e}",
                )
            )
        except Exception as e:  # noqa: BLE001 - a runtime that cannot run is a result
            skipped.append(f"torch.compile failed: {str(e).splitlines()[0][:160]}")
    else:
        skipped.append("torch.compile: full scale only (minutes to compile)")

    for name in (runtimes.ONNXRUNTIME, runtimes.OPENVINO):
        if not runtimes.installed(name):
            skipped.append(f"{name}: not installed (pip install '.[{runtimes.EXTRAS[name]}]')")
            continue
        start = time.perf_counter()
        fast = accelerate(lora, FastCpu(cache, name))
        setup = time.perf_counter() - start
        if fast.fast is None:
            skipped.append(f"{name}: conversion failed or did not match torch (see log)")
            continue
        err = float((fast.fast(x, t) - expected).abs().max())
        sec = timed(lambda f=fast.fast: f(x, t), CPU, reps)
        engines[name] = Engine(name, fast.fast, sec, setup, err)
        size = install_mib(list(runtimes._MODULES[name]))
        report.add(
            Row(
                f"forward, {name} fp32",
                sec * 1e3,
                "ms",
                "measured",
                f"convert+check {setup:.0f} s once per adapter; max abs diff {err:.1e}; "
                f"install {size:.0f} MiB; RSS {rss_gib():.2f} GiB",
            )
        )

    if native_bf16():

        def bf16(xb: torch.Tensor = x, tb: torch.Tensor = t) -> torch.Tensor:
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
                return merged.unet(xb, tb).sample.float()

        err = float((bf16() - expected).abs().max())
        sec = timed(bf16, CPU, reps)
        # the app samples this way on such a CPU (core.devices.sampling_dtype): the toy
        # world measured its restores within 0.001 identity of fp32 (toyworld_bf16_cpu.md)
        engines[BF16] = Engine(BF16, bf16, sec, 0.0, err)
        report.add(
            Row(
                "forward, torch bf16 autocast",
                sec * 1e3,
                "ms",
                "measured",
                f"max abs diff {err:.1e} (bf16 rounding; restores checked in the toy world)",
            )
        )
    else:
        skipped.append("bf16: this CPU reports no native bf16 (no AVX-512 BF16 / AMX)")
    report.add(
        Row(
            "install size, torch (for scale)",
            install_mib(["torch"], added=False),
            "MiB",
            "measured",
        )
    )
    return engines, skipped


def run(scale: str, device_name: str | None, out: Path) -> Report:
    device = resolve_device(device_name)
    prior = build_prior(SMOKE if scale == "smoke" else DDPM_256, device)
    r = prior.resolution
    report = Report(out, scale, device, prior)
    on_cpu = device.type == "cpu"
    full_cpu = on_cpu and scale != "smoke"
    dtype = autocast_dtype(device)
    product = RestoreSettings()
    album = AlbumSettings()
    k = PAPER_K
    if scale == "smoke":  # K shrunk so every stage runs end to end in seconds
        product = RestoreSettings(strength=10, steps=4)
        album = AlbumSettings(count=4, strength=20, steps=5, batch_size=4)
        k = 10
    sched = Schedule(prior.scheduler)
    steps_product = len(sched.timesteps(product.strength, product.steps))
    album_ts = sched.timesteps(album.strength, album.steps)
    guided_steps = album_guided_steps(album, album_ts)
    faces = [tensor_to_pil(torch.rand(3, r, r) * 2 - 1) for _ in range(8)]

    flops = forward_flops(prior)
    report.add(Row("UNet forward FLOPs (batch 1)", flops / 1e9, "GFLOP", "counted"))
    lora = lora_prior(prior)

    # 1. the CPU engines (batch 1, LoRA merged), and the fastest one the product adopts
    cache_dir = tempfile.TemporaryDirectory(prefix="gen2res-speed-")
    cache = Path(cache_dir.name)
    if on_cpu:
        engines, skipped = compare_runtimes(report, lora, scale, cache)
        report.skipped = skipped
        # the fastest engine the app can adopt (torch.compile costs minutes in every process)
        usable = [e for name, e in engines.items() if name != "torch.compile"]
        engine = min(usable, key=lambda e: e.forward_s)
        report.header["fastest_engine"] = min(engines.values(), key=lambda e: e.forward_s).name
        report.header["engine_measured_for_the_app"] = engine.name
        forward_b1 = engines["torch"].forward_s
        fast_b1 = engine.forward_s
    else:
        x = torch.randn(1, 3, r, r, device=device)
        t = torch.full((1,), 100, device=device)
        merged = merge_adapter(lora)

        def fwd() -> None:
            with torch.no_grad(), autocast(device, dtype):
                merged.unet(x, t)

        forward_b1 = fast_b1 = timed(fwd, device, 5)
        peak = BF16_PEAK_TFLOPS.get(report.header["device"])
        util = f"{flops / forward_b1 / (peak * 1e12):.1%} of bf16 peak" if peak else ""
        report.add(
            Row("forward, batch 1 (product precision)", forward_b1 * 1e3, "ms", "measured", util)
        )
        engine = Engine("torch", lambda xb, tb: merged.unet(xb, tb).sample, forward_b1, 0, 0)

    # 2. batches: seconds per image at batch 1, 2 and 4 (faces of one photo; album)
    per_image = {1: fast_b1}
    for batch in (2, 4):
        xb = torch.randn(batch, 3, r, r, device=device)
        tb = torch.full((batch,), 150, device=device)

        def fwd_b(xb=xb, tb=tb, eps=engine.eps) -> None:
            with torch.no_grad(), autocast(device, dtype):
                eps(xb, tb)

        sec = timed(fwd_b, device, 1 if full_cpu else 3, warmup=0 if full_cpu else 1)
        per_image[batch] = sec / batch
        report.add(
            Row(
                f"forward per image, batch {batch} ({engine.name})",
                sec / batch * 1e3,
                "ms",
                "measured",
                f"batch 1: {fast_b1 * 1e3:.0f} ms",
            )
        )
    guided = guided_step_seconds(prior, album, device, dtype, 4 if full_cpu else album.batch_size)
    report.add(
        Row(
            f"guided album step per image (torch, batch {guided[1]})",
            guided[0] / guided[1] * 1e3,
            "ms",
            "measured",
            "forward + backward",
        )
    )

    # 3. restore one face with an adapter: the product measured end to end, the paper
    # estimated (200 torch steps)
    app_runtime = runtimes.TORCH if engine.name == BF16 else engine.name
    merged_lora = accelerate(lora, FastCpu(cache, app_runtime) if on_cpu else None)
    engine_label = BF16 if engine.name == BF16 else merged_lora.fast_name
    start = time.perf_counter()
    restore_image(merged_lora, faces[0], product)
    sync(device)
    restore_product = time.perf_counter() - start
    report.add(
        Row(
            f"restore one face, product ({steps_product} steps, {engine_label})",
            restore_product,
            "s",
            "measured end to end",
            f"RSS {rss_gib():.2f} GiB",
        )
    )
    restore_paper = forward_b1 * k
    report.add(
        Row(
            f"restore one face, paper ({k} ancestral steps, torch)",
            restore_paper,
            "s",
            "estimated: steps x measured torch forward",
        )
    )
    report.add(
        Row(
            "UNet evaluations per face: product / paper",
            steps_product / k,
            "ratio",
            "counted",
            f"{steps_product} / {k}",
        )
    )

    # 4. training iterations: product LoRA vs the paper's full fine-tune in fp32, with the
    # engines and their models gone first, as in the app (a training runs on its own)
    engine_name = engine.name
    if on_cpu:
        del engines
    del engine, merged_lora, lora
    gc.collect()
    iters = 3 if full_cpu else 6
    opts = TrainOptions(steps=iters + 1, batch_size=PAPER_BATCH, checkpoint_every=10_000)
    times: list[float] = []

    def per_step(p) -> None:
        times.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp:
        reset_peak(device)
        train_adapter(prior, faces, Path(tmp) / "a.safetensors", opts, progress=per_step)
    lora_iter = (times[-1] - times[0]) / (len(times) - 1)  # the first step warms up
    report.add(
        Row(
            "LoRA iteration, batch 4 (product)",
            lora_iter * 1e3,
            "ms",
            "measured",
            f"peak {peak_memory_gib(device):.2f} GiB",
        )
    )
    # the patch-training experiment (toyworld_patch_cpu.md): half-side crops, batch 4
    times.clear()
    with tempfile.TemporaryDirectory() as tmp:
        train_adapter(
            prior, faces, Path(tmp) / "p.safetensors", replace(opts, patch=0.5), progress=per_step
        )
    patch_iter = (times[-1] - times[0]) / (len(times) - 1)
    report.add(
        Row(
            "LoRA iteration, batch 4, half-side crops (not adopted)",
            patch_iter * 1e3,
            "ms",
            "measured",
            f"{patch_iter / lora_iter:.2f} of a whole-face iteration",
        )
    )
    # the layout training uses (core.training.fine_tune does the same)
    full_unet = copy.deepcopy(prior.unet).to(memory_format=training.TRAIN_MEMORY_FORMAT)
    full_unet.train().requires_grad_(True)
    optim = torch.optim.AdamW(full_unet.parameters(), lr=1e-5)
    xb = torch.randn(PAPER_BATCH, 3, r, r, device=device)
    tb = torch.randint(0, 1000, (PAPER_BATCH,), device=device)

    def full_step() -> None:
        loss = torch.nn.functional.mse_loss(full_unet(xb, tb).sample, xb)
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)

    full_iter = timed(full_step, device, 1, warmup=0 if full_cpu else 1)
    report.add(
        Row(
            "full fine-tune iteration, batch 4, fp32 (paper)",
            full_iter * 1e3,
            "ms",
            "measured",
            f"peak {peak_memory_gib(device):.2f} GiB",
        )
    )

    # 5. the generative album: unguided steps on the engine, guided ones on torch
    unguided = len(album_ts) - guided_steps
    per_guided = guided[0] / guided[1]
    album_s = album.count * (unguided * per_image[4] + guided_steps * per_guided)
    paper_guided = -(-album.strength // album.guidance_every)
    paper_album_s = album.count * (
        (album.strength - paper_guided) * forward_b1 + paper_guided * per_guided
    )
    report.add(
        Row(
            f"generative album, {album.count} images, {len(album_ts)} steps "
            f"({guided_steps} guided)",
            album_s,
            "s",
            "estimated: steps x measured per-image step",
            f"batch {guided[1]}; unguided steps on {engine_name}",
        )
    )
    report.add(
        Row(
            f"generative album, paper ({album.strength} ancestral steps, torch)",
            paper_album_s,
            "s",
            "estimated: steps x measured per-image step",
        )
    )

    # 6. end to end, against the goals
    personal = defaults.TRAIN_STEPS * lora_iter
    paper_personal = PAPER_PERSONAL_ITERS * full_iter
    single_restore = forward_b1 * steps_product  # its one-off adapter is merged, not converted
    single = album_s + defaults.SINGLE_TRAIN_STEPS * lora_iter + single_restore
    paper_single = paper_album_s + PAPER_ALBUM_ITERS * full_iter + restore_paper
    report.add(
        Row(
            "personal adapter (product)",
            personal,
            "s",
            "iterations x measured iteration",
            f"{defaults.TRAIN_STEPS} LoRA steps x 4",
        )
    )
    report.add(
        Row(
            "personal fine-tune (paper recipe)",
            paper_personal,
            "s",
            "iterations x measured iteration",
            f"{PAPER_PERSONAL_ITERS} iterations x 4",
        )
    )
    report.add(
        Row(
            "single-photo mode end to end (product)",
            single,
            "s",
            "sum of the stages above",
            f"album + {defaults.SINGLE_TRAIN_STEPS} LoRA steps + restore",
        )
    )
    report.add(
        Row(
            "single-photo mode end to end (paper recipe)",
            paper_single,
            "s",
            "sum of the stages above",
            f"{PAPER_ALBUM_ITERS} full fine-tune iterations",
        )
    )
    for what, value, paper_value, goal in (
        ("restore one face with an adapter", restore_product, restore_paper, GOALS["restore"]),
        ("personal adapter", personal, paper_personal, GOALS["adapter"]),
        ("single-photo mode", single, paper_single, GOALS["single"]),
    ):
        met = "met" if value <= goal else "not met"
        report.add(
            Row(
                f"speed-up over the paper: {what}",
                paper_value / value,
                "x",
                "ratio of the rows above",
                f"goal {goal:.0f} s: {met} ({value:.0f} s)",
            )
        )
    cache_dir.cleanup()
    return report


def album_guided_steps(album: AlbumSettings, ts: list[int]) -> int:
    """How many of the respaced album's steps take a guidance gradient."""
    every = max(1, album.guidance_every)
    ends = [album.strength - 1 - t for t in ts] + [album.strength]
    return sum(-(-ends[i + 1] // every) > -(-ends[i] // every) for i in range(len(ts)))


def guided_step_seconds(
    prior: LoadedPrior, album: AlbumSettings, device: torch.device, dtype, batch: int
) -> tuple[float, int]:
    """One guided album step (forward and the guidance gradient) at ``batch``."""
    r = prior.resolution
    x = torch.randn(batch, 3, r, r, device=device)
    y0 = torch.rand(1, 3, r, r, device=device) * 2 - 1
    sched = Schedule(prior.scheduler)
    t = album.strength - 1

    def step() -> None:
        x_in = x.detach().requires_grad_(True)
        ts = torch.full((batch,), t, device=device, dtype=torch.long)
        with autocast(device, dtype):
            eps = prior.unet(as_layout(x_in, device), ts).sample.float()
        x0 = sched.predict_x0(x_in, eps, t)
        torch.autograd.grad((y0 - x0).flatten(1).norm(dim=1).sum(), x_in)

    on_full_cpu = device.type == "cpu" and r >= 256
    return timed(step, device, 1, warmup=0 if on_full_cpu else 1), batch


def variants(scale: str, device_name: str | None, out: Path) -> Report:
    """Options weighed for the notes: channels-last memory for eager torch (adopted on
    CPUs) and a LoRA on the decoder only (not adopted; the toy world scored it within the
    standard error)."""
    device = resolve_device(device_name)
    prior = build_prior(SMOKE if scale == "smoke" else DDPM_256, device)
    report = Report(out, scale, device, prior)
    report.stem = f"speed_variants_{scale}_{device.type}"
    r = prior.resolution
    x = torch.randn(1, 3, r, r, device=device)
    t = torch.tensor([150], device=device)

    def forward(unet: torch.nn.Module, xx: torch.Tensor) -> None:
        with torch.no_grad():
            unet(xx, t)

    def train_step_s(targets, layout: torch.memory_format) -> float:
        """Seconds per step of the product's train_adapter, after one warm-up step."""
        times: list[float] = []
        before = training.TRAIN_MEMORY_FORMAT
        training.TRAIN_MEMORY_FORMAT = layout
        try:
            with tempfile.TemporaryDirectory() as tmp:
                train_adapter(
                    prior,
                    faces,
                    Path(tmp) / "a.safetensors",
                    TrainOptions(steps=steps, targets=tuple(targets), checkpoint_every=10_000),
                    progress=lambda p: times.append(time.perf_counter()),
                )
        finally:
            training.TRAIN_MEMORY_FORMAT = before
        return (times[-1] - times[0]) / (len(times) - 1)

    faces = [tensor_to_pil(torch.rand(3, r, r) * 2 - 1) for _ in range(8)]
    steps = 3 if device.type == "cpu" and scale != "smoke" else 4
    base = copy.deepcopy(prior.unet).to(memory_format=torch.contiguous_format)
    report.add(
        Row(
            "forward, eager fp32, contiguous",
            timed(lambda: forward(base, x), device, 2) * 1e3,
            "ms",
            "measured",
        )
    )
    last = base.to(memory_format=torch.channels_last)
    x_last = x.to(memory_format=torch.channels_last)
    report.add(
        Row(
            "forward, eager fp32, channels-last",
            timed(lambda: forward(last, x_last), device, 2) * 1e3,
            "ms",
            "measured",
        )
    )
    decoder = [
        name
        for name, _ in prior.unet.named_modules()
        if name.startswith("up_blocks.")
        and (
            name.rsplit(".", 1)[-1] in ("conv1", "conv2", "to_q", "to_k", "to_v")
            or name.endswith("to_out.0")
        )
    ]
    for label, targets, layout in (
        (
            "all product targets, contiguous (product)",
            defaults.LORA_TARGETS,
            torch.contiguous_format,
        ),
        ("all product targets, channels-last", defaults.LORA_TARGETS, torch.channels_last),
        (f"decoder only ({len(decoder)} layers), contiguous", decoder, torch.contiguous_format),
    ):
        sec = train_step_s(targets, layout)
        report.add(
            Row(
                f"LoRA training step, batch 4, {label}",
                sec * 1e3,
                "ms",
                "measured",
                f"{steps - 1} steps after a warm-up; 500 steps: {500 * sec / 3600:.2f} h",
            )
        )
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=("full", "smoke"), default="full")
    p.add_argument("--device", default=None)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument(
        "--variants",
        action="store_true",
        help="time the options weighed in speed_notes.md (channels-last, a decoder-only "
        "LoRA) instead",
    )
    args = p.parse_args(argv)
    report = (variants if args.variants else run)(args.scale, args.device, args.out)
    print(f"Wrote {args.out / report.stem}.md and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
