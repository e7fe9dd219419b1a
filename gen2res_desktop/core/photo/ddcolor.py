"""The DDColor colouriser (Kang et al., "DDColor: Towards Photo-Realistic Image Colorization
via Dual Decoders", ICCV 2023; https://github.com/piddnad/DDColor, Apache-2.0), written here
from the paper and the released checkpoints' layout, so their weights load as they are.

The network sees the photo's lightness only (L replicated to RGB) and predicts the two
chroma channels (a, b of CIE Lab). Its parts:

- **Encoder**: a ConvNeXt (tiny: depths 3-3-9-3, widths 96..768; large: 3-3-27-3,
  192..1536). After each of its four stages a channels-first LayerNorm (``norm0``..
  ``norm3``) gives the multi-scale features; the trunk itself continues un-normalised.
- **Pixel decoder**: three UNet-like steps up from the deepest feature (1x1 conv, pixel
  shuffle x2, a one-pixel blur against checkerboards, join the BN'd skip feature, 3x3
  conv), then one x4 pixel shuffle back to the input's resolution. Every conv here is
  spectrally normalised.
- **Colour decoder**: learnable colour queries refined by nine transformer layers, each
  cross-attending to one scale of the pixel decoder (coarse to fine, in turn), then
  self-attending and a feed-forward step (all post-norm, as DETR / Mask2Former).
- **Fusion**: each query's embedding is dotted with the full-resolution pixel features,
  giving one map per query; a 1x1 conv over those maps and the normalised input gives ab.

Spectral normalisation is evaluated as PyTorch's does in eval mode: the stored singular
vectors ``weight_u`` and ``weight_v`` give sigma = u . (W v) and the conv uses W / sigma; no
power iteration runs at inference, so the result is what the authors' network computes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gen2res_desktop.core.photo.strict_load import load_strictly

ARCH = "DDColor"
# The model's own input normalisation (ImageNet statistics, stored in the checkpoint).
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
_HEADS = 8  # not in the weights: the authors' constant
_LN_EPS = 1e-6  # ConvNeXt's LayerNorms; the transformer's use PyTorch's default 1e-5


@dataclass(frozen=True)
class DDColorShape:
    """What a DDColor network is built with; the released configs are below."""

    depths: tuple[int, ...] = (3, 3, 9, 3)
    dims: tuple[int, ...] = (96, 192, 384, 768)
    nf: int = 512  # pixel decoder width (the last step has nf // 2)
    num_queries: int = 100
    hidden_dim: int = 256
    dec_layers: int = 9
    dim_feedforward: int = 2048
    out_channels: int = 2

    @property
    def levels(self) -> int:
        return 3  # the colour decoder attends to the three coarser pixel-decoder scales


TINY = DDColorShape()  # ddcolor_paper_tiny: ConvNeXt-T
LARGE = DDColorShape(depths=(3, 3, 27, 3), dims=(192, 384, 768, 1536))  # paper / modelscope


# ---------------------------------------------------------------------------------------
# building blocks


class _ChannelsFirstNorm(nn.Module):
    """LayerNorm over the channels of an N x C x H x W tensor (ConvNeXt's)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + _LN_EPS)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class _ConvNeXtBlock(nn.Module):
    """Depthwise 7x7, LayerNorm, MLP x4 with GELU, layer scale, residual."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=_LN_EPS)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class _ConvNeXt(nn.Module):
    """The encoder trunk; ``forward`` returns the four normalised stage outputs."""

    def __init__(self, depths: tuple[int, ...], dims: tuple[int, ...]) -> None:
        super().__init__()
        self.downsample_layers = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), _ChannelsFirstNorm(dims[0]))]
        )
        for i in range(3):
            self.downsample_layers.append(
                nn.Sequential(
                    _ChannelsFirstNorm(dims[i]), nn.Conv2d(dims[i], dims[i + 1], 2, stride=2)
                )
            )
        self.stages = nn.ModuleList(
            nn.Sequential(*[_ConvNeXtBlock(d) for _ in range(n)])
            for d, n in zip(dims, depths, strict=True)
        )
        for i, d in enumerate(dims):
            self.add_module(f"norm{i}", _ChannelsFirstNorm(d))
        # the classifier's final norm: in the checkpoints, never used for colour
        self.norm = nn.LayerNorm(dims[-1], eps=_LN_EPS)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i in range(4):
            x = self.stages[i](self.downsample_layers[i](x))
            feats.append(getattr(self, f"norm{i}")(x))
        return feats


class _Encoder(nn.Module):
    def __init__(self, shape: DDColorShape) -> None:
        super().__init__()
        self.arch = _ConvNeXt(shape.depths, shape.dims)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.arch(x)


class _SpectralConv(nn.Module):
    """A conv whose weight is divided by its largest singular value, estimated from the
    stored vectors (``weight_u``, ``weight_v``) exactly as PyTorch's spectral norm does in
    eval mode; the parameter names are those of ``nn.utils.spectral_norm``."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool) -> None:
        super().__init__()
        self.padding = (kernel - 1) // 2
        # bias first: spectral_norm re-registers the weight after it, and the checkpoints
        # list the tensors in that order
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.weight_orig = nn.Parameter(torch.empty(cout, cin, kernel, kernel))
        nn.init.kaiming_normal_(self.weight_orig)
        u = F.normalize(torch.randn(cout), dim=0, eps=1e-12)
        v = F.normalize(torch.randn(cin * kernel * kernel), dim=0, eps=1e-12)
        self.register_buffer("weight_u", u)
        self.register_buffer("weight_v", v)

    def weight(self) -> torch.Tensor:
        w = self.weight_orig
        sigma = torch.dot(self.weight_u, torch.mv(w.reshape(w.shape[0], -1), self.weight_v))
        return w / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight(), self.bias, padding=self.padding)


def _conv_bn(cin: int, cout: int, kernel: int, relu: bool) -> nn.Sequential:
    """Spectral conv (no bias), optional ReLU, then BatchNorm: the layout ``0`` / ``1|2``."""
    layers: list[nn.Module] = [_SpectralConv(cin, cout, kernel, bias=False)]
    if relu:
        layers.append(nn.ReLU())
    layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers)


class _Shuffle(nn.Module):
    """1x1 conv to ``cout * scale**2`` channels, ReLU, pixel shuffle, then a 2x2 box blur
    over an edge-replicated border so the upsampling leaves no checkerboard."""

    def __init__(self, cin: int, cout: int, scale: int, batch_norm: bool) -> None:
        super().__init__()
        n = cout * scale * scale
        self.conv = (
            _conv_bn(cin, n, 1, relu=False)
            if batch_norm
            else nn.Sequential(_SpectralConv(cin, n, 1, bias=True))
        )
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pixel_shuffle(F.relu(self.conv(x)), self.scale)
        return F.avg_pool2d(F.pad(x, (1, 0, 1, 0), mode="replicate"), 2, stride=1)


class _UpBlock(nn.Module):
    """Up x2 from below, join the skip feature (BatchNorm'd), ReLU, 3x3 conv + ReLU + BN."""

    def __init__(self, cin: int, skip: int, cout: int) -> None:
        super().__init__()
        self.shuf = _Shuffle(cin, cout, 2, batch_norm=True)
        self.bn = nn.BatchNorm2d(skip)
        self.conv = _conv_bn(cout + skip, cout, 3, relu=True)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(F.relu(torch.cat([self.shuf(x), self.bn(skip)], dim=1)))


def _sine_positions(x: torch.Tensor, feats: int) -> torch.Tensor:
    """The 2-D sine/cosine position code of DETR, normalised to the map (2 pi across):
    ``feats`` channels for y then ``feats`` for x, sin and cos interleaved. HW x N x C."""
    n, _, h, w = x.shape
    ys = torch.arange(1, h + 1, dtype=torch.float32, device=x.device) / (h + 1e-6) * 2 * math.pi
    xs = torch.arange(1, w + 1, dtype=torch.float32, device=x.device) / (w + 1e-6) * 2 * math.pi
    i = torch.arange(feats, dtype=torch.float32, device=x.device)
    freq = 10000 ** (2 * torch.div(i, 2, rounding_mode="floor") / feats)

    def code(t: torch.Tensor) -> torch.Tensor:
        a = t[:, None] / freq
        return torch.stack((a[:, 0::2].sin(), a[:, 1::2].cos()), dim=2).flatten(1)

    py = code(ys)[:, None, :].expand(h, w, feats)
    px = code(xs)[None, :, :].expand(h, w, feats)
    pos = torch.cat((py, px), dim=2).reshape(h * w, 1, 2 * feats)
    return pos.expand(h * w, n, 2 * feats).to(x.dtype)


class _CrossAttention(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(d, _HEADS)
        self.norm = nn.LayerNorm(d)

    def forward(self, q, memory, pos, query_pos):  # noqa: ANN001, ANN201 - tensors
        out = self.multihead_attn(q + query_pos, memory + pos, memory, need_weights=False)[0]
        return self.norm(q + out)


class _SelfAttention(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, _HEADS)
        self.norm = nn.LayerNorm(d)

    def forward(self, q, query_pos):  # noqa: ANN001, ANN201 - tensors
        k = q + query_pos
        return self.norm(q + self.self_attn(k, k, q, need_weights=False)[0])


class _FeedForward(nn.Module):
    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d, hidden)
        self.linear2 = nn.Linear(hidden, d)
        self.norm = nn.LayerNorm(d)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return self.norm(q + self.linear2(F.relu(self.linear1(q))))


class _MLP(nn.Module):
    def __init__(self, d: int, out: int, n: int = 3) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(d, out if i == n - 1 else d) for i in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)


class _ColourDecoder(nn.Module):
    """Colour queries refined against the pixel decoder's scales; returns one map per query
    at full resolution (queries dotted with the full-resolution pixel features)."""

    def __init__(self, shape: DDColorShape, in_channels: tuple[int, ...], embed: int) -> None:
        super().__init__()
        d = shape.hidden_dim
        self.query_feat = nn.Embedding(shape.num_queries, d)
        self.query_embed = nn.Embedding(shape.num_queries, d)
        self.level_embed = nn.Embedding(shape.levels, d)
        self.input_proj = nn.ModuleList(nn.Conv2d(c, d, 1) for c in in_channels)
        layers = range(shape.dec_layers)
        self.transformer_self_attention_layers = nn.ModuleList(_SelfAttention(d) for _ in layers)
        self.transformer_cross_attention_layers = nn.ModuleList(_CrossAttention(d) for _ in layers)
        self.transformer_ffn_layers = nn.ModuleList(
            _FeedForward(d, shape.dim_feedforward) for _ in layers
        )
        self.decoder_norm = nn.LayerNorm(d)
        self.color_embed = _MLP(d, embed)

    def forward(self, scales: list[torch.Tensor], pixels: torch.Tensor) -> torch.Tensor:
        n = pixels.shape[0]
        d = self.query_feat.weight.shape[1]
        memory, pos = [], []
        for i, f in enumerate(scales):
            pos.append(_sine_positions(f, d // 2))
            src = self.input_proj[i](f).flatten(2) + self.level_embed.weight[i][None, :, None]
            memory.append(src.permute(2, 0, 1))
        query_pos = self.query_embed.weight[:, None, :].expand(-1, n, -1)
        q = self.query_feat.weight[:, None, :].expand(-1, n, -1)
        for i, (cross, attend, ffn) in enumerate(
            zip(
                self.transformer_cross_attention_layers,
                self.transformer_self_attention_layers,
                self.transformer_ffn_layers,
                strict=True,
            )
        ):
            level = i % len(scales)
            q = ffn(attend(cross(q, memory[level], pos[level], query_pos), query_pos))
        embed = self.color_embed(self.decoder_norm(q).transpose(0, 1))  # N x Q x C
        return torch.einsum("nqc,nchw->nqhw", embed, pixels)


class _Decoder(nn.Module):
    def __init__(self, shape: DDColorShape) -> None:
        super().__init__()
        dims, nf = shape.dims, shape.nf
        self.layers = nn.Sequential(
            _UpBlock(dims[3], dims[2], nf),
            _UpBlock(nf, dims[1], nf),
            _UpBlock(nf, dims[0], nf // 2),
        )
        self.last_shuf = _Shuffle(nf // 2, nf // 2, 4, batch_norm=False)
        self.color_decoder = _ColourDecoder(shape, (nf, nf, nf // 2), nf // 2)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = feats[3]
        scales = []
        for block, skip in zip(self.layers, (feats[2], feats[1], feats[0]), strict=True):
            x = block(x, skip)
            scales.append(x)
        return self.color_decoder(scales, self.last_shuf(x))


class DDColorNet(nn.Module):
    """The whole network: RGB in [0, 1] (N x 3 x H x W, sides multiples of 32) in, ab out
    (N x 2 x H x W, the scale of CIE Lab's a and b)."""

    def __init__(self, shape: DDColorShape = TINY) -> None:
        super().__init__()
        self.shape = shape
        self.encoder = _Encoder(shape)
        self.decoder = _Decoder(shape)
        self.refine_net = nn.Sequential(
            nn.Sequential(_SpectralConv(shape.num_queries + 3, shape.out_channels, 1, bias=True))
        )
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        maps = self.decoder(self.encoder(x))
        return self.refine_net(torch.cat([maps, x], dim=1))


# ---------------------------------------------------------------------------------------
# recognising a checkpoint

_SIGNATURE = (
    "encoder.arch.downsample_layers.0.0.weight",
    "decoder.layers.0.shuf.conv.0.weight_orig",
    "decoder.color_decoder.query_feat.weight",
    "refine_net.0.0.weight_orig",
)


def matches(sd: dict[str, torch.Tensor]) -> bool:
    """Whether ``sd`` has DDColor's layout (key names, not yet shapes)."""
    return all(k in sd for k in _SIGNATURE)


def _count(sd: dict[str, torch.Tensor], prefix: str, at: int) -> int:
    return len({k.split(".")[at] for k in sd if k.startswith(prefix)})


def shape_of(sd: dict[str, torch.Tensor]) -> DDColorShape:
    """The constructor arguments ``sd``'s tensors imply."""
    stages = "encoder.arch.stages."
    depths = tuple(_count(sd, f"{stages}{i}.", 4) for i in range(4))
    dims = tuple(int(sd[f"{stages}{i}.0.dwconv.weight"].shape[0]) for i in range(4))
    cd = "decoder.color_decoder."
    queries, hidden = (int(v) for v in sd[f"{cd}query_feat.weight"].shape)
    return DDColorShape(
        depths=depths,
        dims=dims,
        nf=int(sd["decoder.layers.0.shuf.conv.0.weight_orig"].shape[0]) // 4,
        num_queries=queries,
        hidden_dim=hidden,
        dec_layers=_count(sd, f"{cd}transformer_ffn_layers.", 3),
        dim_feedforward=int(sd[f"{cd}transformer_ffn_layers.0.linear1.weight"].shape[0]),
        out_channels=int(sd["refine_net.0.0.weight_orig"].shape[0]),
    )


def build(sd: dict[str, torch.Tensor], label: str) -> DDColorNet:
    """The network with ``sd`` loaded strictly; Gen2ResError (one line) if it does not fit."""

    def make() -> DDColorNet:
        shape = shape_of(sd)
        if shape.out_channels != 2:
            raise ValueError(f"{shape.out_channels} output channels, not the 2 of a and b")
        if shape.hidden_dim % _HEADS or min(shape.depths) < 1:
            raise ValueError("the colour decoder or the encoder does not fit DDColor")
        return DDColorNet(shape)

    return load_strictly(
        make, sd, label, looks_like="the DDColor colouriser", whose="the colouriser's"
    )


def parameters(net: nn.Module) -> int:
    return int(sum(p.numel() for p in net.parameters()))
