"""First-frame augmentations: transformed copies of the first patch give the online classifier
more training samples.

Each transform takes patches (N, C, H, W) (usually a patch larger than the classifier's sample,
so that rotated or shifted content has real image around it), transforms them about their
centre, and cuts the result to ``output_sz`` around the centre moved by ``shift``: the
replicate-padded crop puts input pixel (x, y) at (x + dx, y + dy) relative to a centred crop.
:meth:`Transform.transform_point` maps a point (the target centre) the same way, so the label of
each sample can be centred on where the target went.

Points, shifts and sigmas of the classes here are in (x, y) order; coordinates are continuous
pixel coordinates (pixel (row i, column j) covers [j, j + 1) x [i, i + 1)), as boxes are. A
tracker's ``augmentation`` parameter takes pytracking's (y, x) pairs instead
(:func:`augmentations_from_params`).
"""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def random_shift(rng: np.random.Generator, sample_size: float, factor: float) -> tuple[int, int]:
    """A shift (dx, dy) uniform in +-factor/2 * sample_size pixels, truncated to whole pixels."""
    dx, dy = (rng.random(2) - 0.5) * float(sample_size) * float(factor)
    return int(dx), int(dy)


class Transform:
    """Identity of the content: only the crop to ``output_sz`` (None: keep the size) shifted by
    ``shift`` = (dx, dy) whole pixels."""

    def __init__(self, output_sz: int | None = None, shift: Sequence[int] = (0, 0)):
        self.output_sz = None if output_sz is None else int(output_sz)
        dx, dy = shift
        if int(dx) != dx or int(dy) != dy:
            raise ValueError(f"shifts are whole pixels, got {tuple(shift)}")
        self.shift = (int(dx), int(dy))

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, output_sz, output_sz), or (N, C, H', W') without output_sz."""
        if image.dim() != 4:
            raise ValueError(f"augmentations take patches (N, C, H, W), got shape {tuple(image.shape)}")
        return self.crop_to_output(self.transform_image(image))

    def transform_image(self, image: torch.Tensor) -> torch.Tensor:
        return image

    def transformed_size(self, size: Sequence[int]) -> tuple[int, int]:
        """(H, W) of transform_image's output for an input of ``size`` (H, W)."""
        return int(size[0]), int(size[1])

    def transform_content_point(self, point: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """Where transform_image moves ``point`` (..., 2) (x, y) of an input of ``size`` (H, W)."""
        return point

    def _offsets(self, size: Sequence[int]) -> tuple[int, int, int, int]:
        """Padding (left, right, top, bottom) that crop_to_output applies to a map of ``size``
        (negative: cropped)."""
        height, width = int(size[0]), int(size[1])
        pad_w = 0.0 if self.output_sz is None else (self.output_sz - width) / 2
        pad_h = 0.0 if self.output_sz is None else (self.output_sz - height) / 2
        dx, dy = self.shift
        return (math.floor(pad_w) + dx, math.ceil(pad_w) - dx, math.floor(pad_h) + dy, math.ceil(pad_h) - dy)

    def crop_to_output(self, image: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self._offsets(image.shape[-2:])
        height, width = image.shape[-2:]
        # Crop first (negative padding), then pad what is left by repeating the border.
        image = image[..., max(-top, 0):height - max(-bottom, 0), max(-left, 0):width - max(-right, 0)]
        if image.shape[-1] == 0 or image.shape[-2] == 0:
            raise ValueError(f"shift {self.shift} moves the {height} x {width} patch out of the output")
        pads = (max(left, 0), max(right, 0), max(top, 0), max(bottom, 0))
        return F.pad(image, pads, mode="replicate") if any(pads) else image

    def transform_point(self, point, size: Sequence[int]) -> torch.Tensor:
        """Map ``point`` (..., 2) (x, y) of an input patch of ``size`` (H, W) to the output."""
        point = torch.as_tensor(point, dtype=torch.float64)
        moved = self.transform_content_point(point, size)
        left, _, top, _ = self._offsets(self.transformed_size(size))
        return moved + moved.new_tensor([left, top])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(output_sz={self.output_sz}, shift={self.shift})"


class Identity(Transform):
    """No change of content; the crop only."""


class Translation(Transform):
    """The content moved by ``shift`` = (dx, dy) pixels."""

    def __init__(self, shift: Sequence[int], output_sz: int | None = None):
        super().__init__(output_sz, shift)


class FlipHorizontal(Transform):
    """Mirrored left to right."""

    def transform_image(self, image: torch.Tensor) -> torch.Tensor:
        return image.flip(-1)

    def transform_content_point(self, point: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        return torch.stack((size[1] - point[..., 0], point[..., 1]), dim=-1)


class Blur(Transform):
    """Gaussian blur of standard deviation ``sigma`` (a number or (sigma_x, sigma_y)) pixels,
    kernel radius ceil(2 sigma), borders repeated."""

    def __init__(self, sigma, output_sz: int | None = None, shift: Sequence[int] = (0, 0)):
        super().__init__(output_sz, shift)
        sigma = (float(sigma), float(sigma)) if np.isscalar(sigma) else tuple(float(s) for s in sigma)
        if len(sigma) != 2 or min(sigma) <= 0:
            raise ValueError(f"blur sigma must be positive, a number or (sigma_x, sigma_y), got {sigma}")
        self.sigma = sigma

    @staticmethod
    def _kernel(sigma: float) -> torch.Tensor:
        # float32 arithmetic in the published order, so that blurred samples match its bit for bit.
        radius = math.ceil(2 * sigma)
        x = torch.arange(-radius, radius + 1, dtype=torch.float32)
        kernel = torch.exp(-(x ** 2) / (2 * sigma ** 2))
        return kernel / kernel.sum()

    def transform_image(self, image: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = image.shape
        out = image.reshape(batch * channels, 1, height, width)
        kernel_x = self._kernel(self.sigma[0]).to(image)
        kernel_y = self._kernel(self.sigma[1]).to(image)
        rx, ry = kernel_x.numel() // 2, kernel_y.numel() // 2
        # Columns first, then rows, as published.
        out = F.conv2d(F.pad(out, (0, 0, ry, ry), mode="replicate"), kernel_y.view(1, 1, -1, 1))
        out = F.conv2d(F.pad(out, (rx, rx, 0, 0), mode="replicate"), kernel_x.view(1, 1, 1, -1))
        return out.reshape(batch, channels, height, width)

    def __repr__(self) -> str:
        return f"Blur(sigma={self.sigma}, output_sz={self.output_sz}, shift={self.shift})"


class Rotate(Transform):
    """Rotated by ``angle`` degrees about the patch centre, counter-clockwise as displayed
    (y down); bilinear (OpenCV's warpAffine, as the published trackers rotate), borders repeated."""

    def __init__(self, angle: float, output_sz: int | None = None, shift: Sequence[int] = (0, 0)):
        super().__init__(output_sz, shift)
        self.angle = float(angle)

    def _matrix(self) -> torch.Tensor:
        """Forward rotation of (x, y) offsets from the centre."""
        a = math.radians(self.angle)
        return torch.tensor([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]], dtype=torch.float64)

    def transform_image(self, image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        rotation = self._matrix().numpy()
        # Pixel indices: the centre pixel index is (size - 1) / 2, the continuous centre size / 2.
        centre = np.array([(width - 1) / 2, (height - 1) / 2])
        matrix = np.concatenate([rotation, (centre - rotation @ centre)[:, None]], 1)
        out = []
        for sample in image.detach().to("cpu", torch.float32):
            array = np.ascontiguousarray(sample.permute(1, 2, 0).numpy())
            warped = cv2.warpAffine(array, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
            out.append(torch.from_numpy(warped.reshape(height, width, -1)).permute(2, 0, 1))
        return torch.stack(out).to(image)

    def transform_content_point(self, point: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        centre = point.new_tensor([size[1] / 2, size[0] / 2])
        return (point - centre) @ self._matrix().T.to(point) + centre

    def __repr__(self) -> str:
        return f"Rotate(angle={self.angle}, output_sz={self.output_sz}, shift={self.shift})"


class Scale(Transform):
    """Content resized by 1 / ``scale_factor`` about the centre, as the published trackers'
    ``scale`` augmentation: a factor of 2 halves the target. The new size, round(n /
    scale_factor), keeps the parity of the old, so that the centre stays on the same sub-pixel
    position; bilinear, without antialiasing."""

    def __init__(self, scale_factor: float, output_sz: int | None = None, shift: Sequence[int] = (0, 0)):
        super().__init__(output_sz, shift)
        if not scale_factor > 0:
            raise ValueError(f"scale_factor must be positive, got {scale_factor}")
        self.scale_factor = float(scale_factor)

    def transformed_size(self, size: Sequence[int]) -> tuple[int, int]:
        def scaled(n: int) -> int:
            new = max(1, round(n / self.scale_factor))
            return new + (new - n) % 2
        return scaled(int(size[0])), scaled(int(size[1]))

    def transform_image(self, image: torch.Tensor) -> torch.Tensor:
        return F.interpolate(image, size=self.transformed_size(image.shape[-2:]), mode="bilinear",
                             align_corners=False)

    def transform_content_point(self, point: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        new_h, new_w = self.transformed_size(size)
        factor = point.new_tensor([new_w / size[1], new_h / size[0]])
        centre, new_centre = point.new_tensor([size[1] / 2, size[0] / 2]), point.new_tensor([new_w / 2, new_h / 2])
        return (point - centre) * factor + new_centre

    def __repr__(self) -> str:
        return f"Scale(scale_factor={self.scale_factor}, output_sz={self.output_sz}, shift={self.shift})"


class FeatureDropout:
    """Channel dropout on feature maps (N, C, H, W): ``copies`` copies of each, every channel
    zeroed with probability ``p`` and the rest scaled by 1 / (1 - p). Labels are those of the
    source samples. Randomness comes from the numpy Generator passed in."""

    def __init__(self, p: float, copies: int = 1):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p, self.copies = float(p), int(copies)

    def __call__(self, features: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """(N, C, H, W) -> (copies * N, C, H, W), copy-major."""
        batch, channels = features.shape[:2]
        keep = rng.random((self.copies * batch, channels)) >= self.p
        mask = torch.from_numpy(keep).to(features) / (1 - self.p)
        repeated = features.repeat(self.copies, *([1] * (features.dim() - 1)))
        return repeated * mask.reshape(self.copies * batch, channels, *([1] * (features.dim() - 2)))

    def __repr__(self) -> str:
        return f"FeatureDropout(p={self.p}, copies={self.copies})"


def _yx_pair(value, name: str) -> tuple[float, float]:
    """A parameter file's (y, x) pair (pytracking's order) -> (x, y)."""
    if np.isscalar(value):
        return float(value), float(value)
    if len(value) != 2:
        raise ValueError(f"augmentation {name!r} takes (y, x) pairs, got {value!r}")
    return float(value[1]), float(value[0])


def augmentations_from_params(augmentation: dict, *, sample_size: float, output_sz: int,
                              rng: np.random.Generator, random_shift_factor: float = 0.0
                              ) -> tuple[list[Transform], FeatureDropout | None]:
    """The transforms of a tracker's ``augmentation`` parameter, Identity first, in the
    published order. Keys, with pairs in pytracking's (y, x) order so that its parameter files
    can be copied: ``shift`` [(dy, dx) pixels], ``relativeshift`` [(ry, rx) in half sample
    sizes, truncated to whole pixels], ``fliplr`` (bool), ``blur`` [sigma or (sigma_y,
    sigma_x)], ``scale`` [factor, see :class:`Scale`], ``rotate`` [degrees], ``dropout`` (copies,
    p). Flips, blurs, scales and rotations get a :func:`random_shift` of ``random_shift_factor``
    times ``sample_size`` (the classifier's sample side in patch pixels); 0 turns the shifts off."""
    known = {"shift", "relativeshift", "fliplr", "blur", "scale", "rotate", "dropout"}
    unknown = sorted(set(augmentation) - known)
    if unknown:
        raise ValueError(f"unknown augmentation(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")

    def shift() -> tuple[int, int]:
        return random_shift(rng, sample_size, random_shift_factor) if random_shift_factor > 0 else (0, 0)

    def whole(value: float) -> int:
        if int(value) != value:
            raise ValueError(f"augmentation 'shift' takes whole pixels, got {value}")
        return int(value)

    transforms: list[Transform] = [Identity(output_sz)]
    for pair in augmentation.get("shift", []):
        dx, dy = _yx_pair(pair, "shift")
        transforms.append(Translation((whole(dx), whole(dy)), output_sz))
    for pair in augmentation.get("relativeshift", []):
        rx, ry = _yx_pair(pair, "relativeshift")
        transforms.append(Translation((int(rx * sample_size / 2), int(ry * sample_size / 2)), output_sz))
    if augmentation.get("fliplr", False):
        transforms.append(FlipHorizontal(output_sz, shift()))
    transforms += [Blur(_yx_pair(sigma, "blur"), output_sz, shift()) for sigma in augmentation.get("blur", [])]
    transforms += [Scale(factor, output_sz, shift()) for factor in augmentation.get("scale", [])]
    transforms += [Rotate(angle, output_sz, shift()) for angle in augmentation.get("rotate", [])]
    dropout = augmentation.get("dropout")
    return transforms, (FeatureDropout(dropout[1], dropout[0]) if dropout else None)
