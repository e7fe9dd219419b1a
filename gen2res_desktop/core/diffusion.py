"""Restoration by generation: project an image to noise level K, then denoise it back.

Timestep convention. The schedule has T levels; level ``k`` (1..T) is the image after k
forward noising steps, stored at index ``k - 1`` of the scheduler's ``alphas_cumprod``
(diffusers' 0-based timesteps). "Strength K" puts the input at level K, i.e. diffusers
timestep ``K - 1``, and the full ancestral sampler then runs exactly K model steps at
timesteps ``K-1, ..., 0``. A respaced sampler visits a sub-grid that still starts at
``K-1`` and ends at ``0`` (DDPM posterior between non-adjacent levels, as in improved
DDPM respacing).
"""

from __future__ import annotations

import torch
from PIL import Image

from gen2res_desktop.core import defaults
from gen2res_desktop.core.devices import (
    as_layout,
    autocast,
    autocast_dtype,
    oom_as_error,
    sampling_dtype,
)
from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.images import pil_to_tensor, tensor_to_pil
from gen2res_desktop.core.priors import LoadedPrior
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback, no_progress
from gen2res_desktop.core.sampling import AlbumSettings, RestoreSettings


class Schedule:
    """The prior's noise schedule as tensors, with the handful of formulas the method needs."""

    def __init__(self, scheduler: object) -> None:
        cfg = scheduler.config
        self.T = int(cfg.num_train_timesteps)
        self.alphas_cumprod = scheduler.alphas_cumprod.to(torch.float64)
        self.clip_sample = bool(getattr(cfg, "clip_sample", True))
        self.clip_range = float(getattr(cfg, "clip_sample_range", 1.0))
        prediction = getattr(cfg, "prediction_type", "epsilon")
        if prediction != "epsilon":
            raise Gen2ResError(
                f"Priors predicting '{prediction}' are not supported (epsilon only)."
            )

    def check_strength(self, strength: int) -> None:
        if not 1 <= strength <= self.T:
            raise Gen2ResError(f"Strength must be between 1 and {self.T} (got {strength}).")

    def ab(self, t: int) -> float:
        """alpha_bar at diffusers timestep t; t = -1 is the clean image (alpha_bar = 1)."""
        return 1.0 if t < 0 else float(self.alphas_cumprod[t])

    def project(self, y0: torch.Tensor, strength: int, noise: torch.Tensor) -> torch.Tensor:
        """y_K = sqrt(alpha_bar_K) y0 + sqrt(1 - alpha_bar_K) eps."""
        ab = self.ab(strength - 1)
        return ab**0.5 * y0 + (1 - ab) ** 0.5 * noise

    def timesteps(self, strength: int, steps: int | None = None) -> list[int]:
        """Descending diffusers timesteps: first is exactly strength-1, last is 0."""
        self.check_strength(strength)
        start = strength - 1
        if steps is None or steps >= strength:
            return list(range(start, -1, -1))
        if steps < 1:
            raise Gen2ResError(f"Steps must be at least 1 (got {steps}).")
        if steps == 1:
            return [start]
        grid = torch.linspace(start, 0, steps, dtype=torch.float64).round().long().tolist()
        out: list[int] = []
        for t in grid:
            if not out or t < out[-1]:
                out.append(int(t))
        return out

    def predict_x0(self, x_t: torch.Tensor, eps: torch.Tensor, t: int) -> torch.Tensor:
        ab = self.ab(t)
        return (x_t - (1 - ab) ** 0.5 * eps) / ab**0.5

    def step(
        self,
        x_t: torch.Tensor,
        eps: torch.Tensor,
        t: int,
        t_prev: int,
        noise: torch.Tensor | None,
    ) -> torch.Tensor:
        """One ancestral DDPM step from timestep t to t_prev (< t; -1 means clean)."""
        ab_t, ab_prev = self.ab(t), self.ab(t_prev)
        beta = 1 - ab_t / ab_prev
        x0 = self.predict_x0(x_t, eps, t)
        if self.clip_sample:
            x0 = x0.clamp(-self.clip_range, self.clip_range)
        mean = (ab_prev**0.5 * beta / (1 - ab_t)) * x0 + (
            (1 - beta) ** 0.5 * (1 - ab_prev) / (1 - ab_t)
        ) * x_t
        if t_prev < 0 or noise is None:
            return mean
        var = beta * (1 - ab_prev) / (1 - ab_t)
        return mean + var**0.5 * noise


def _eps(prior: LoadedPrior, x: torch.Tensor, t: int, dtype: torch.dtype | None) -> torch.Tensor:
    ts = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
    if prior.fast is not None and not torch.is_grad_enabled():
        return prior.fast(x, ts).to(x.device)
    with autocast(prior.device, dtype):
        out = prior.unet(as_layout(x, prior.device), ts).sample
    return out.float()


def _noise(
    shape: tuple[int, ...], generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    # Drawn on the CPU so a seed gives the same noise whatever the device.
    return torch.randn(shape, generator=generator, dtype=torch.float32).to(device)


def restore_tensor(
    prior: LoadedPrior,
    y0: torch.Tensor,
    settings: RestoreSettings,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """Restore a batch (B, 3, R, R) in [-1, 1] at the prior's resolution.

    Each sample draws its noise from its own generator seeded with ``settings.seed``, so a
    face restores the same alone or batched with the other faces of its photo."""
    cancel = cancel or CancelToken()
    sched = Schedule(prior.scheduler)
    ts = sched.timesteps(settings.strength, settings.steps)
    gens = [torch.Generator().manual_seed(settings.seed) for _ in range(y0.shape[0])]
    dtype = sampling_dtype(prior.device)
    y0 = y0.to(prior.device, torch.float32)

    def noise() -> torch.Tensor:
        return torch.cat([_noise((1, *y0.shape[1:]), g, prior.device) for g in gens])

    x = sched.project(y0, settings.strength, noise())
    with torch.no_grad(), oom_as_error("try fewer photos at once"):
        for i, t in enumerate(ts):
            cancel.check()
            t_prev = ts[i + 1] if i + 1 < len(ts) else -1
            eps = _eps(prior, x, t, dtype)
            x = sched.step(x, eps, t, t_prev, noise() if t_prev >= 0 else None)
            progress(Progress("restore", i + 1, len(ts)))
    return x.clamp(-1, 1)


def restore_images(
    prior: LoadedPrior,
    images: list[Image.Image],
    settings: RestoreSettings,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> list[Image.Image]:
    """Restore square crops of the subject as one batch; each result has its input's size."""
    y0 = torch.stack([pil_to_tensor(image, prior.resolution) for image in images])
    out = restore_tensor(prior, y0, settings, progress=progress, cancel=cancel)
    results = []
    for image, x in zip(images, out, strict=True):
        result = tensor_to_pil(x)
        if result.size != image.size:
            result = result.resize(image.size, Image.Resampling.LANCZOS)
        results.append(result)
    return results


def restore_image(
    prior: LoadedPrior,
    image: Image.Image,
    settings: RestoreSettings,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> Image.Image:
    """Restore a square crop of the subject; the result has the input's size."""
    return restore_images(prior, [image], settings, progress=progress, cancel=cancel)[0]


def generate_album(
    prior: LoadedPrior,
    image: Image.Image,
    settings: AlbumSettings,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> list[Image.Image]:
    """Sample a generative album near ``image`` with skip guidance.

    Every ``guidance_every`` steps the ancestral update is followed by
    x <- x - lambda * grad_x ||y0 - x0_hat(x, t)||_2 (plain L2 norm per sample), with the
    gradient taken at the same model evaluation as the step, so guidance costs one
    backward pass and no extra forward pass.

    With ``steps`` set, the sampler is respaced like :func:`restore_tensor`'s. Guidance
    points stay every ``guidance_every`` timesteps of the full sampler (its steps 0, n,
    2n, ...): a respaced step applies lambda once for each point it passes, so the album
    gets the same total guidance whatever the number of steps.
    """
    cancel = cancel or CancelToken()
    if settings.count < 1:
        raise Gen2ResError("The album needs at least one image.")
    sched = Schedule(prior.scheduler)
    ts = sched.timesteps(settings.strength, settings.steps)
    every = max(1, settings.guidance_every)
    # guidance points passed by step i: multiples of `every` in [K-1 - t_i, K-1 - t_{i+1})
    ends = [settings.strength - 1 - t for t in ts] + [settings.strength]
    passes = [-(-ends[i + 1] // every) - (-(-ends[i] // every)) for i in range(len(ts))]
    dtype, guided_dtype = sampling_dtype(prior.device), autocast_dtype(prior.device)
    y0 = pil_to_tensor(image, prior.resolution).unsqueeze(0).to(prior.device)
    album: list[Image.Image] = []
    total = len(ts) * settings.count
    done = 0
    batch = settings.batch_size or (
        defaults.ALBUM_BATCH_CPU if prior.device.type == "cpu" else defaults.ALBUM_BATCH
    )
    for first in range(0, settings.count, batch):
        n = min(batch, settings.count - first)
        # One generator per sample: the album does not depend on the batch size.
        gens = [
            torch.Generator().manual_seed(settings.seed * 100_003 + first + i) for i in range(n)
        ]

        def noise_like() -> torch.Tensor:
            return torch.cat(
                [_noise((1, *y0.shape[1:]), g, prior.device) for g in gens]  # noqa: B023
            )

        x = sched.project(y0.expand(n, -1, -1, -1), settings.strength, noise_like())
        with oom_as_error("lower the album batch size"):
            for i, t in enumerate(ts):
                cancel.check()
                t_prev = ts[i + 1] if i + 1 < len(ts) else -1
                guide = settings.guidance_scale > 0 and passes[i] > 0
                if guide:
                    x_in = x.detach().requires_grad_(True)
                    eps = _eps(prior, x_in, t, guided_dtype)
                    x0_hat = sched.predict_x0(x_in, eps, t)
                    dist = (y0 - x0_hat).flatten(1).norm(dim=1).sum()
                    (grad,) = torch.autograd.grad(dist, x_in)
                    eps = eps.detach()
                else:
                    with torch.no_grad():
                        eps = _eps(prior, x, t, dtype)
                with torch.no_grad():
                    noise = noise_like() if t_prev >= 0 else None
                    x = sched.step(x.detach(), eps, t, t_prev, noise)
                    if guide:
                        x = x - settings.guidance_scale * passes[i] * grad
                done += n
                progress(Progress("album", done, total))
        album.extend(tensor_to_pil(s) for s in x.detach().clamp(-1, 1))
    return album
