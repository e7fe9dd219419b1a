"""Generator 2's local physical damage: what a restorer fills (the "should be filled" mask).

Each function draws one kind onto a :class:`~.marks.Print` with its own generator and
returns what it drew, for the recipe. Shapes follow how real prints break, not what any
detector looks for: cracks run as networks of cells (the gelatine shrinks over a paper
that moves), folds break the emulsion in a dashed line, corners tear along a fibrous
jagged edge, emulsion lifts off in ragged patches, hairs curl.

Bright marks take the paper's colour (the emulsion is gone and the aged paper shows);
dark ones the colour of dirt sitting in the groove.
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmarks.oldphoto.marks import (
    Print,
    point_on_edge,
    ragged_blob,
    smooth_noise,
    walk,
    wander,
)


def _dirt(rng: np.random.Generator) -> np.ndarray:
    return np.array([0.11, 0.09, 0.07]) * rng.uniform(0.5, 1.6)


def _bright_or_dark(p: Print, rng: np.random.Generator, p_bright: float) -> np.ndarray:
    return p.paper * rng.uniform(0.92, 1.0) if rng.uniform() < p_bright else _dirt(rng)


def craquelure(p: Print, rng: np.random.Generator, amount: float) -> dict:
    """A polygonal network over part or all of the print: Voronoi cells with wandering,
    partly unbroken edges, clipped to a region that thins out at its border."""
    cell = rng.uniform(0.03, 0.08) * p.short
    whole = rng.uniform() < 0.3
    if whole:
        region = np.ones((p.h, p.w), np.float32)
    else:
        centre = rng.uniform([0.2 * p.w, 0.2 * p.h], [0.8 * p.w, 0.8 * p.h])
        radius = rng.uniform(0.2, 0.45) * p.short * (0.6 + 0.4 * amount)
        outline = ragged_blob(rng, centre, radius, 0.1)
        got = p.coverage_polygons([outline])
        region = np.zeros((p.h, p.w), np.float32)
        if got is not None:
            (x0, y0, x1, y1), cov = got
            region[y0:y1, x0:x1] = cov
        region = cv2.GaussianBlur(region, (0, 0), cell * 0.8)
    ys, xs = np.nonzero(region > 0.05)
    if len(xs) == 0:
        return {"cells": 0}
    x_lo, x_hi, y_lo, y_hi = xs.min(), xs.max(), ys.min(), ys.max()
    gx = np.arange(x_lo - cell, x_hi + cell, cell)
    gy = np.arange(y_lo - cell, y_hi + cell, cell)
    seeds = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
    seeds = seeds + rng.uniform(-0.45, 0.45, seeds.shape) * cell
    subdiv = cv2.Subdiv2D((int(x_lo - 3 * cell), int(y_lo - 3 * cell), int(x_hi - x_lo + 6 * cell), int(y_hi - y_lo + 6 * cell)))  # fmt: skip
    subdiv.insert([tuple(map(float, s)) for s in seeds])
    facets, _ = subdiv.getVoronoiFacetList([])
    edges: dict[tuple, tuple] = {}
    for facet in facets:
        f = np.asarray(facet, np.float64)
        for a, b in zip(f, np.roll(f, -1, axis=0), strict=True):
            key = tuple(sorted([tuple(np.round(a, 1)), tuple(np.round(b, 1))]))
            edges[key] = (a, b)
    keep = rng.uniform(0.55, 0.9)
    lines = [
        wander(a, b, 0.06, rng, seg_px=max(2.0, cell / 12))
        for a, b in edges.values()
        if rng.uniform() < keep
    ]
    width = p.width(rng.uniform(0.5, 1.6), floor=0.6)
    got = p.coverage_strokes(lines, width)
    if got is None:
        return {"cells": 0}
    (x0, y0, x1, y1), cov = got
    # the network fades out at the region's border and is fainter in places
    vary = 0.55 + 0.45 * smooth_noise(rng, y1 - y0, x1 - x0, cell * 2)
    alpha = cov * region[y0:y1, x0:x1] * vary * rng.uniform(0.65, 0.95)
    p.composite("craquelure", (x0, y0, x1, y1), alpha, _bright_or_dark(p, rng, 0.4))
    return {"cells": len(facets), "cell_px": round(cell, 1), "whole": whole}


def cracks(p: Print, rng: np.random.Generator, amount: float) -> dict:
    """Single cracks that start mostly at the print's edge and branch, thinning as they go."""
    n = max(1, int(round(rng.integers(1, 4) * amount)))
    for _ in range(n):
        if rng.uniform() < 0.7:
            start, heading = point_on_edge(rng, p.h, p.w)
        else:
            start, heading = rng.uniform([0, 0], [p.w, p.h]), rng.uniform(0, 2 * np.pi)
        colour = _bright_or_dark(p, rng, 0.35)
        opacity = rng.uniform(0.7, 0.95)
        width = rng.uniform(0.8, 2.5)
        todo = [(start, heading, rng.uniform(0.15, 0.5) * max(p.h, p.w), width)]
        drawn = 0
        while todo and drawn < 6:
            s, a, length, wid = todo.pop()
            path = walk(rng, s, a, length, 0.006 * p.short, 0.18)
            path = path + rng.normal(0, 0.0015 * p.short, path.shape)  # the jagged split
            # tapering: thinner towards the end, drawn in pieces
            pieces = np.array_split(np.arange(len(path)), 4)
            for k, idx in enumerate(pieces):
                if len(idx) == 0:
                    continue
                seg = path[max(0, idx[0] - 1) : idx[-1] + 1]
                p.stroke("crack", [seg], p.width(wid * (1 - 0.18 * k), 0.5), colour, opacity)
            drawn += 1
            for _ in range(int(rng.integers(0, 3))):
                at = path[int(rng.integers(len(path) // 5, max(len(path) // 5 + 1, len(path))))]
                branch = a + rng.choice([-1, 1]) * rng.uniform(0.4, 1.2)
                todo.append((at, branch, length * rng.uniform(0.2, 0.5), wid * 0.6))
    return {"cracks": n}


def fold_line(
    p: Print, rng: np.random.Generator, line: np.ndarray, ridge_px: float
) -> dict[str, float]:
    """The emulsion broken along a fold (its ridge shading is a tone, drawn with the
    stains): dashes along the crease, with small chips beside it."""
    path = wander(line[0], line[-1], 0.004, rng, seg_px=3.0)
    seglen = np.hypot(*np.diff(path, axis=0).T)
    along = np.concatenate([[0], np.cumsum(seglen)])
    dashes, pos = [], 0.0
    present = rng.uniform(0.55, 0.9)
    while pos < along[-1]:
        n = rng.exponential(0.03 * p.short) + 2
        if rng.uniform() < present:
            sel = (along >= pos) & (along <= pos + n)
            if sel.sum() >= 2:
                dashes.append(path[sel])
        pos += n
    colour = p.paper if rng.uniform() < 0.8 else _dirt(rng)
    p.stroke("fold", dashes, p.width(rng.uniform(1.0, 3.0), 0.7), colour, rng.uniform(0.7, 1.0))
    chips = []
    for _ in range(int(len(dashes) * rng.uniform(0.3, 1.0))):
        at = path[int(rng.integers(len(path)))] + rng.normal(0, ridge_px * 0.5, 2)
        chips.append(ragged_blob(rng, at, p.width(rng.uniform(1.0, 4.0), 0.8), 0.3, 12))
    p.fill("fold", chips, colour, rng.uniform(0.7, 1.0))
    return {"dashes": len(dashes), "chips": len(chips)}


def tears(p: Print, rng: np.random.Generator, amount: float) -> dict:
    """Torn or missing corners and chips out of the edge: the scanner's background shows
    through an irregular, fibrous edge with the paper's white core along it."""
    bg = [np.array([0.96, 0.96, 0.95]), np.array([0.04, 0.04, 0.05]), np.array([0.5, 0.5, 0.48])]
    background = bg[int(rng.choice(3, p=[0.5, 0.3, 0.2]))] * rng.uniform(0.95, 1.05)
    corners = [np.array([0.0, 0.0]), np.array([p.w, 0.0]), np.array([p.w, p.h]), np.array([0.0, p.h])]  # fmt: skip
    n = max(1, int(round(rng.integers(1, 3) * amount)))
    chosen = rng.choice(4, size=min(4, n), replace=False)
    for c in chosen:
        corner = corners[c]
        sx = 1 if corner[0] == 0 else -1
        sy = 1 if corner[1] == 0 else -1
        a = corner + [sx * rng.uniform(0.04, 0.18) * p.short, 0]
        b = corner + [0, sy * rng.uniform(0.04, 0.18) * p.short]
        edge = wander(a, b, 0.12, rng, seg_px=1.5)
        poly = np.concatenate([[corner], edge])
        p.stroke("tear", [edge], p.width(rng.uniform(1.5, 4.0), 1.0), p.paper, 0.95)
        p.fill("tear", [poly], background, 1.0)
    chips = int(rng.integers(0, 3))
    for _ in range(chips):
        at, _ = point_on_edge(rng, p.h, p.w)
        p.fill("tear", [ragged_blob(rng, at, rng.uniform(0.01, 0.03) * p.short, 0.25)], background, 1.0)  # fmt: skip
    return {"corners": len(chosen), "chips": chips}


def flakes(p: Print, rng: np.random.Generator, amount: float) -> dict:
    """Emulsion flaking off in ragged patches, small and medium, in clusters."""
    clusters = max(1, int(round(rng.integers(1, 4) * amount)))
    count = 0
    for _ in range(clusters):
        centre = rng.uniform([0, 0], [p.w, p.h])
        spread = rng.uniform(0.04, 0.15) * p.short
        for _ in range(int(rng.integers(3, 14))):
            at = centre + rng.normal(0, spread, 2)
            medium = rng.uniform() < 0.3
            r = rng.uniform(0.01, 0.03) if medium else rng.uniform(0.003, 0.01)
            blob = ragged_blob(rng, at, max(1.2, r * p.short), rng.uniform(0.15, 0.35), 64)
            lifted = rng.uniform() < 0.25  # partly lifted: greyed, not down to the paper
            opacity = rng.uniform(0.45, 0.75) if lifted else rng.uniform(0.85, 1.0)
            if rng.uniform() < 0.3:  # the lifted rim casts a thin shadow
                rim = np.concatenate([blob, blob[:1]])
                p.stroke("flake", [rim + [0.7, 0.7]], p.width(1.0, 0.7), _dirt(rng), 0.6)
            p.fill("flake", [blob], p.paper, opacity)
            count += 1
    return {"flakes": count}


def scratches(p: Print, rng: np.random.Generator, amount: float) -> dict:
    """Straight and curved scratches from hair-thin to wide, and scuffs (short parallel
    fine ones together)."""
    n = max(1, int(round(rng.integers(2, 7) * amount)))
    long_side = max(p.h, p.w)
    for _ in range(n):
        start = rng.uniform([0, 0], [p.w, p.h])
        length = rng.uniform(0.05, 0.6) * long_side
        heading = rng.uniform(0, 2 * np.pi)
        if rng.uniform() < 0.5:  # straight: a blade or a grain of sand dragged along
            end = start + length * np.array([np.cos(heading), np.sin(heading)])
            path = wander(start, end, 0.002, rng, seg_px=4.0)
        else:  # an arc
            radius = rng.uniform(0.5, 3.0) * p.short
            sweep = length / radius
            t = np.linspace(0, sweep, max(8, int(length / 3)))
            centre = start - radius * np.array([np.cos(heading), np.sin(heading)])
            path = centre + radius * np.stack([np.cos(heading + t), np.sin(heading + t)], 1)
        wid = float(np.exp(rng.uniform(np.log(0.3), np.log(6.0))))  # hair-thin to wide
        colour = _bright_or_dark(p, rng, 0.6)
        px = p.width(wid, 0.35)
        if px > 3:  # a wide gouge: soft shoulders, a fully open core
            p.stroke("scratch", [path], px, colour, 0.55)
            p.stroke("scratch", [path], px * 0.55, colour, 0.95)
        else:
            p.stroke("scratch", [path], px, colour, rng.uniform(0.75, 1.0))
    scuffs = int(rng.uniform() < 0.5 * amount + 0.2)
    for _ in range(scuffs):
        centre = rng.uniform([0, 0], [p.w, p.h])
        heading = rng.uniform(0, np.pi)
        d = np.array([np.cos(heading), np.sin(heading)])
        normal = np.array([-d[1], d[0]])
        lines = []
        for _ in range(int(rng.integers(4, 10))):
            off = centre + normal * rng.normal(0, 0.01 * p.short)
            half = rng.uniform(0.02, 0.07) * p.short
            lines.append(np.stack([off - d * half, off + d * half]))
        p.stroke("scratch", lines, p.width(0.5, 0.5), p.paper, rng.uniform(0.6, 0.9))
    return {"scratches": n, "scuffs": scuffs}


def hairs(p: Print, rng: np.random.Generator, amount: float) -> dict:
    """Hairs and fibres on the print or the scanner glass: thin curly curves, most dark."""
    n = max(1, int(round(rng.integers(1, 5) * amount)))
    for _ in range(n):
        start = rng.uniform([0, 0], [p.w, p.h])
        length = rng.uniform(0.03, 0.12) * p.short
        path = walk(rng, start, rng.uniform(0, 2 * np.pi), length, 0.002 * p.short, 0.05, 0.02)
        path = cv2.blur(path.reshape(-1, 1, 2), (1, 5)).reshape(-1, 2)  # a hair has no kinks
        dark = rng.uniform() < 0.7
        colour = np.array([0.1, 0.08, 0.06]) * rng.uniform(0.5, 1.5) if dark else p.paper * 0.97
        p.stroke("hair", [path], p.width(rng.uniform(0.5, 1.5), 0.6), colour, rng.uniform(0.7, 1.0))
    return {"hairs": n}


def dust(p: Print, rng: np.random.Generator, amount: float) -> dict:
    """Specks: many tiny, few large (a power law), irregular, bright or dark."""
    n = int(rng.uniform(20, 70) * amount * (p.h * p.w / 1e6) ** 0.5 + 0.5)
    polys_bright, polys_dark = [], []
    for _ in range(n):
        r = min(5.0, 0.4 * (1 - rng.uniform()) ** (-1 / 1.6)) * p.unit
        r = max(0.5, r)
        blob = ragged_blob(rng, rng.uniform([0, 0], [p.w, p.h]), r, 0.35, int(rng.integers(5, 10)))
        (polys_bright if rng.uniform() < 0.6 else polys_dark).append(blob)
    p.fill("dust", polys_bright, p.paper * 0.98, rng.uniform(0.75, 1.0))
    p.fill("dust", polys_dark, _dirt(rng), rng.uniform(0.75, 1.0))
    return {"specks": n}


def pen(p: Print, rng: np.random.Generator, amount: float) -> dict:
    """Writing on the print's face (a name, a date) in ink: cursive loops (a prolate
    cycloid, one loop per letter) with a slant, and sometimes an underline."""
    inks = [(0.12, 0.18, 0.55), (0.08, 0.08, 0.1), (0.6, 0.1, 0.1), (0.3, 0.2, 0.1)]
    n = max(1, int(round(rng.integers(1, 3) * amount)))
    for _ in range(n):
        height = rng.uniform(0.015, 0.04) * p.short
        letters = int(rng.integers(4, 12))
        t = np.linspace(0, letters * 2 * np.pi, letters * 24)
        a, b = height * 0.35, height * rng.uniform(0.4, 0.6)
        amp = 1 + 0.35 * np.repeat(rng.uniform(-1, 1, letters), 24)  # tall and short letters
        x = a * t - b * np.sin(t)
        y = -b * np.cos(t) * amp
        x = x + 0.3 * (-y)  # the slant
        start = rng.uniform([0.05 * p.w, 0.05 * p.h], [0.6 * p.w, 0.95 * p.h])
        angle = rng.normal(0, 0.15)
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        path = start + np.stack([x, y], 1) @ rot.T
        lines = [path]
        if rng.uniform() < 0.4:
            lines.append(np.stack([path[0] + [0, 1.6 * b], path[-1] + [0, 1.6 * b]]))
        ink = np.array(inks[int(rng.integers(len(inks)))])
        p.stroke("pen", lines, p.width(rng.uniform(0.8, 2.5), 0.8), ink, rng.uniform(0.7, 0.95))
    return {"writings": n}


def edge_wear(p: Print, rng: np.random.Generator, amount: float) -> dict:
    """The rubbed border: emulsion worn away to the paper in a ragged band whose depth
    wanders along the edge, speckled where it thins out."""
    sides = rng.choice(4, size=int(rng.integers(1, 5)), replace=False)
    yy = np.arange(p.h, dtype=np.float32)[:, None]
    xx = np.arange(p.w, dtype=np.float32)[None, :]
    dist = {
        0: np.broadcast_to(yy, (p.h, p.w)),
        1: np.broadcast_to(p.h - 1 - yy, (p.h, p.w)),
        2: np.broadcast_to(xx, (p.h, p.w)),
        3: np.broadcast_to(p.w - 1 - xx, (p.h, p.w)),
    }
    d = np.min(np.stack([dist[int(s)] for s in sides]), axis=0)
    depth = rng.uniform(0.004, 0.015) * p.short * (0.5 + amount)
    along = smooth_noise(rng, p.h, p.w, 0.05 * p.short) ** 2
    fine = smooth_noise(rng, p.h, p.w, max(1.5, 0.002 * p.short))
    worn = np.clip((depth * along - d) / max(1.0, 0.3 * depth), 0, 1)
    alpha = worn * (fine > 0.35) * rng.uniform(0.75, 1.0)
    p.composite("edge", (0, 0, p.w, p.h), alpha.astype(np.float32), p.paper)
    return {"sides": [int(s) for s in sides], "depth_px": round(float(depth), 1)}
