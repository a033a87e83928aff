"""One synthetic tracking video. Everything random about it (objects, trajectories, occlusion
events, camera, lighting) is drawn once from its seed by :class:`SequencePlan`; frames are then
rendered one at a time, each with its target box and visible ratio.

Coordinates are continuous pixels: pixel column ``j`` covers ``[j, j + 1)``, so boxes are
``[x, y, w, h]`` with the top-left corner at ``(x, y)``, as everywhere in the toolkit.
"""

from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np
from scipy.interpolate import PchipInterpolator

from ltr.data.boxes import xyxy_to_xywh
from ltr.dataset.synthetic.textures import TextureSource, jitter_colour

SPRITE_SIDE = 160  # pixels of an object's texture along its longer side, before resizing
SPRITE_MARGIN = 3  # empty pixels around the shape inside its sprite, so sampling never hits the edge
SHAPES = ("ellipse", "rectangle", "polygon", "blob")
ABSENT_BELOW = 0.005  # visible ratio under which the target counts as absent
UNIT_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


@dataclasses.dataclass(frozen=True)
class SceneConfig:
    """What a sequence may contain; the probabilities are per sequence."""

    width: int = 480
    height: int = 360
    frames: int = 100
    min_target_size: float = 0.07  # sqrt(target area) / sqrt(width * height)
    max_target_size: float = 0.30
    max_rotation: float = 40.0  # degrees of in-plane rotation either way
    p_distractors: float = 0.6  # similar-looking objects moving around
    p_occlusion: float = 0.6  # other objects passing in front of the target
    p_full_occlusion: float = 0.5  # given an occlusion, that it hides the target completely
    p_exit: float = 0.2  # the target leaves the frame and comes back
    p_motion_blur: float = 0.35
    p_illumination: float = 0.5
    p_camera_motion: float = 0.7

    def __post_init__(self):
        if self.width < 32 or self.height < 32:
            raise ValueError(f"frames must be at least 32x32 pixels, not {self.width}x{self.height}")
        if self.frames < 2:
            raise ValueError(f"a sequence needs at least 2 frames, not {self.frames}")
        if not 0 < self.min_target_size <= self.max_target_size < 1:
            raise ValueError("need 0 < min_target_size <= max_target_size < 1")


@dataclasses.dataclass
class Sprite:
    """An object's appearance: RGBA levels of detail and its outline polygon (level 0 pixels)."""

    levels: list[np.ndarray]  # (h, w, 4) float32: BGR 0..255 and alpha 0..1, each half the last
    polygon: np.ndarray  # (N, 2) x, y

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.levels[0].shape[:2]
        return width, height

    @property
    def shape_size(self) -> tuple[float, float]:
        """Width and height of the outline's bounding box, in level 0 pixels."""
        width, height = self.size
        return width - 2.0 * SPRITE_MARGIN, height - 2.0 * SPRITE_MARGIN


@dataclasses.dataclass
class Track:
    """Where an object is in every frame; width and height are those of its unrotated outline."""

    cx: np.ndarray
    cy: np.ndarray
    width: np.ndarray
    height: np.ndarray
    angle: np.ndarray  # degrees
    opacity: np.ndarray  # 0 where the object is not in the scene

    def affine(self, t: int, sprite: Sprite) -> tuple[np.ndarray, np.ndarray]:
        """(A, b) mapping level 0 sprite coordinates p to frame coordinates A @ p + b."""
        shape_w, shape_h = sprite.shape_size
        theta = np.deg2rad(self.angle[t])
        rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        A = rotation @ np.diag([self.width[t] / shape_w, self.height[t] / shape_h])
        centre = np.array(sprite.size, np.float64) / 2
        return A, np.array([self.cx[t], self.cy[t]]) - A @ centre


@dataclasses.dataclass
class SceneObject:
    role: str  # "target", "distractor" or "occluder"
    sprite: Sprite
    track: Track


@dataclasses.dataclass
class Frame:
    image: np.ndarray  # (H, W, 3) uint8, BGR
    box: np.ndarray  # (4,) x, y, w, h of the target's part inside the frame; zeros when outside
    visible_ratio: float  # share of the target's area that is in the frame and not covered
    cut_by_image: bool  # part of the target lies outside the frame
    target_mask: np.ndarray | None = None  # (H, W) float32 target alpha, ignoring what covers it
    visible_mask: np.ndarray | None = None  # (H, W) float32 target alpha that is seen

    @property
    def absent(self) -> bool:
        return self.visible_ratio < ABSENT_BELOW

    @property
    def cover(self) -> int:
        """GOT-10k's visible-ratio level: 0 absent, 1..7 in steps of 15%, 8 fully visible."""
        if self.absent:
            return 0
        if self.visible_ratio >= 0.995:
            return 8
        return 1 + min(6, int(self.visible_ratio / 0.15))


# ---------------------------------------------------------------------------------- shapes ---

def shape_polygon(rng: np.random.Generator, kind: str) -> np.ndarray:
    """An outline of the given kind whose bounding box is exactly the unit square: (N, 2)."""
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    if kind == "ellipse":
        points = np.stack([np.cos(angles), np.sin(angles)], 1)
    elif kind == "rectangle":
        radius = rng.uniform(0.0, 0.3)
        corners = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float64) * (1 - radius)
        arc = np.linspace(0, np.pi / 2, 8)
        points = np.concatenate([corner + radius * np.stack([np.cos(arc + k * np.pi / 2),
                                                            np.sin(arc + k * np.pi / 2)], 1)
                                 for k, corner in enumerate(corners)])
    elif kind == "polygon":
        count = int(rng.integers(5, 9))
        vertex_angles = np.sort(rng.uniform(0, 2 * np.pi, count))
        radii = rng.uniform(0.75, 1.0, count)
        points = np.stack([radii * np.cos(vertex_angles), radii * np.sin(vertex_angles)], 1)
    elif kind == "blob":
        radius = np.ones_like(angles)
        for k in range(2, 5):
            radius += rng.uniform(0, 0.12) * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
        points = np.stack([radius * np.cos(angles), radius * np.sin(angles)], 1)
    else:
        raise ValueError(f"unknown shape {kind!r}; choose from {SHAPES}")
    low, high = points.min(0), points.max(0)
    return (points - low) / (high - low)


def make_sprite(texture: np.ndarray, unit_polygon: np.ndarray, *, shading: float = 0.0,
                outline: bool = False) -> Sprite:
    """Cut ``unit_polygon`` (scaled to the texture inside the margin) out of ``texture``."""
    height, width = texture.shape[:2]
    polygon = SPRITE_MARGIN + unit_polygon * [width - 2 * SPRITE_MARGIN, height - 2 * SPRITE_MARGIN]
    mask = np.zeros((height, width), np.uint8)
    # Subpixel vertices (4 fractional bits); OpenCV puts pixel centres at integers.
    fixed = np.round((polygon - 0.5) * 16).astype(np.int32)
    cv2.fillPoly(mask, [fixed], 255, lineType=cv2.LINE_AA, shift=4)
    colour = texture.astype(np.float32)
    if shading:
        # Darker towards the rim: objects read as solid rather than as flat cut-outs.
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        rim = ((xs + 0.5) / width - 0.5) ** 2 + ((ys + 0.5) / height - 0.5) ** 2
        colour *= (1 - shading * 2 * rim)[..., None]
    if outline:
        cv2.polylines(colour, [fixed], True, (20, 20, 20), 2, lineType=cv2.LINE_AA, shift=4)
    rgba = np.dstack([colour, mask.astype(np.float32) / 255])
    levels = [rgba]
    while min(levels[-1].shape[:2]) >= 24:
        h, w = levels[-1].shape[:2]
        levels.append(cv2.resize(levels[-1], (max(1, round(w / 2)), max(1, round(h / 2))),
                                 interpolation=cv2.INTER_AREA))
    return Sprite(levels, polygon)


# ------------------------------------------------------------------------------- geometry ---

def clip_polygon_to_frame(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """The part of a convex-or-not simple polygon inside ``[0, width] x [0, height]``
    (Sutherland-Hodgman against the four frame edges): (M, 2), possibly empty."""
    for axis, limit, keep_below in ((0, 0.0, False), (0, width, True), (1, 0.0, False), (1, height, True)):
        if len(points) == 0:
            break
        inside = points[:, axis] <= limit if keep_below else points[:, axis] >= limit
        following = np.roll(points, -1, axis=0)
        following_inside = np.roll(inside, -1)
        crossing = inside != following_inside
        # Only crossing edges use their intersection; the others may divide by zero.
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = (limit - points[:, axis]) / (following[:, axis] - points[:, axis])
            intersections = points + fraction[:, None] * (following - points)
        out = []
        for i in range(len(points)):
            if inside[i]:
                out.append(points[i])
            if crossing[i]:
                out.append(intersections[i])
        points = np.array(out).reshape(-1, 2)
    return points


def polygon_area(points: np.ndarray) -> float:
    """Area of a simple polygon (shoelace formula); 0 for fewer than 3 points."""
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def polygon_box(points: np.ndarray) -> np.ndarray:
    """[x, y, w, h] of the points' bounding box; zeros for no points."""
    if len(points) == 0:
        return np.zeros(4)
    low, high = points.min(0), points.max(0)
    return xyxy_to_xywh(np.concatenate([low, high]))


# ---------------------------------------------------------------------------- trajectories ---

def key_times(rng: np.random.Generator, frames: int, spacing: tuple[int, int]) -> np.ndarray:
    times = [0]
    while times[-1] < frames - 1:
        times.append(times[-1] + int(rng.integers(spacing[0], spacing[1] + 1)))
    return np.array(times, np.float64)


def interpolate(times: np.ndarray, values: np.ndarray, frames: int) -> np.ndarray:
    """Smooth path through (time, value) keys without overshoot: (frames,) or (frames, D)."""
    if len(times) == 1:
        return np.repeat(values[:1], frames, axis=0)
    return PchipInterpolator(times, values, axis=0)(np.arange(frames, dtype=np.float64))


def random_path(rng: np.random.Generator, frames: int, low: float, high: float,
                spacing: tuple[int, int] = (15, 40)) -> np.ndarray:
    times = key_times(rng, frames, spacing)
    return interpolate(times, rng.uniform(low, high, len(times)), frames)


def box_extent(width: np.ndarray, height: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half width and half height of the axis-aligned box around a rotated rectangle."""
    theta = np.deg2rad(angle)
    c, s = np.abs(np.cos(theta)), np.abs(np.sin(theta))
    return 0.5 * (width * c + height * s), 0.5 * (width * s + height * c)


@functools.lru_cache(maxsize=256)
def motion_blur_kernel(length: int, angle_degrees: int) -> np.ndarray:
    kernel = np.zeros((length, length), np.float32)
    theta = np.deg2rad(angle_degrees)
    half = (length - 1) / 2
    dx, dy = half * np.cos(theta), half * np.sin(theta)
    start = np.round(np.array([half - dx, half - dy]) * 16).astype(int)
    end = np.round(np.array([half + dx, half + dy]) * 16).astype(int)
    cv2.line(kernel, tuple(map(int, start)), tuple(map(int, end)), 1.0, 1, cv2.LINE_AA, shift=4)
    return kernel / kernel.sum()


# ------------------------------------------------------------------------------- rendering ---

def object_geometry(obj: SceneObject, t: int, width: int, height: int) -> tuple[np.ndarray, float, bool]:
    """An object's box inside a ``width`` x ``height`` frame at t, the share of its outline's area
    inside the frame, and whether the frame cuts it."""
    A, b = obj.track.affine(t, obj.sprite)
    outline = obj.sprite.polygon @ A.T + b
    inside = clip_polygon_to_frame(outline, width, height)
    box = polygon_box(inside)
    in_frame = polygon_area(inside) / polygon_area(outline)
    return box, min(1.0, in_frame), bool(len(inside) == 0 or not np.allclose(box, polygon_box(outline)))


def render_background(background: np.ndarray, scale: float, origin: np.ndarray, width: int,
                      height: int) -> np.ndarray:
    """The (height, width, 3) float32 view of ``background`` where frame pixel p shows
    background pixel ``scale * p + origin``."""
    matrix = np.array([[scale, 0, origin[0] + 0.5 * scale - 0.5], [0, scale, origin[1] + 0.5 * scale - 0.5]])
    return cv2.warpAffine(background, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT).astype(np.float32)


def hide_under(visible: list, drawn: tuple[int, int, np.ndarray]) -> None:
    """Whatever is drawn over an object hides it in proportion to its alpha: multiply the
    object's seen alpha ``visible`` = [x0, y0, seen] (modified) by 1 - the alpha ``drawn`` =
    (x0, y0, alpha) over their common pixels."""
    x0, y0, alpha = drawn
    tx, ty, seen = visible
    ox0, oy0 = max(x0, tx), max(y0, ty)
    ox1 = min(x0 + alpha.shape[1], tx + seen.shape[1])
    oy1 = min(y0 + alpha.shape[0], ty + seen.shape[0])
    if ox1 > ox0 and oy1 > oy0:
        seen[oy0 - ty:oy1 - ty, ox0 - tx:ox1 - tx] *= 1 - alpha[oy0 - y0:oy1 - y0, ox0 - x0:ox1 - x0]


class SceneRenderer:
    """Drawing shared by the single-object (:class:`SequencePlan`) and the multi-object
    (:class:`ltr.dataset.synthetic.mot.MotPlan`) scenes: sprites composited with motion blur,
    then lighting, sensor noise and 8-bit rounding. Subclasses set the attributes below."""

    config: SceneConfig
    exposure: float  # motion blur length per pixel of motion; 0 for none
    lighting: np.ndarray  # (frames, 3) gain, horizontal and vertical gradient
    noise: np.ndarray  # (H + 16, W + 16, 3) float32 sensor noise, shifted per frame
    noise_offsets: np.ndarray  # (frames, 2)
    jpeg_quality: int

    def _finish(self, canvas: np.ndarray, t: int) -> np.ndarray:
        """Light ``canvas`` (float32, modified) and add noise: the uint8 frame."""
        width, height = self.config.width, self.config.height
        gain, gradient_x, gradient_y = self.lighting[t]
        xs = (np.arange(width, dtype=np.float32) + 0.5) / width - 0.5
        ys = (np.arange(height, dtype=np.float32) + 0.5) / height - 0.5
        light = gain * (1 + gradient_x * xs[None, :] + gradient_y * ys[:, None])
        canvas *= light[..., None]
        dy, dx = self.noise_offsets[t]
        canvas += self.noise[dy:dy + height, dx:dx + width]
        canvas += 0.5
        return np.clip(canvas, 0, 255).astype(np.uint8)

    def encode(self, image: np.ndarray) -> bytes:
        """A rendered frame as the JPEG bytes the generator writes."""
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return encoded.tobytes()

    def _draw(self, canvas: np.ndarray, obj: SceneObject, t: int, blur: bool):
        """Composite ``obj`` at frame t onto ``canvas``; returns (x0, y0, alpha) of what was drawn."""
        height, width = canvas.shape[:2]
        opacity = obj.track.opacity[t]
        if opacity <= 0:
            return None
        A, b = obj.track.affine(t, obj.sprite)
        kernel = None
        if blur and self.exposure and t > 0:
            velocity = np.array([obj.track.cx[t] - obj.track.cx[t - 1], obj.track.cy[t] - obj.track.cy[t - 1]])
            length = int(round(self.exposure * np.hypot(*velocity)))
            if length >= 3:
                angle = int(round(np.degrees(np.arctan2(velocity[1], velocity[0])) / 5) * 5)
                kernel = motion_blur_kernel(min(length, 25) | 1, angle)
        pad = 0 if kernel is None else kernel.shape[0] // 2 + 1
        sprite_w, sprite_h = obj.sprite.size
        corners = np.array([[0, 0], [sprite_w, 0], [sprite_w, sprite_h], [0, sprite_h]], np.float64) @ A.T + b
        x0 = max(0, int(np.floor(corners[:, 0].min())) - pad)
        y0 = max(0, int(np.floor(corners[:, 1].min())) - pad)
        x1 = min(width, int(np.ceil(corners[:, 0].max())) + pad)
        y1 = min(height, int(np.ceil(corners[:, 1].max())) + pad)
        if x1 <= x0 or y1 <= y0:
            return None
        # The level of detail that is shrunk by at most 2x, so texture does not alias.
        shrink = 1.0 / np.sqrt(abs(np.linalg.det(A)))
        level = min(len(obj.sprite.levels) - 1, max(0, int(np.floor(np.log2(max(shrink, 1.0))))))
        image = obj.sprite.levels[level]
        level_scale = np.array([image.shape[1] / sprite_w, image.shape[0] / sprite_h])
        A_level = A / level_scale  # columns divided: level pixels back to level 0 pixels
        # OpenCV's pixel centres are at integers, ours at half-integers.
        offset = b + A_level @ np.array([0.5, 0.5]) - 0.5 - np.array([x0, y0])
        matrix = np.hstack([A_level, offset[:, None]])
        region_size = tuple(xyxy_to_xywh(np.array([x0, y0, x1, y1]))[2:].tolist())
        patch = cv2.warpAffine(image, matrix, region_size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if kernel is not None:
            patch = cv2.filter2D(patch, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        alpha = patch[..., 3:4]
        if opacity < 1:
            alpha *= opacity
        view = canvas[y0:y1, x0:x1]
        view *= 1 - alpha
        view += patch[..., :3] * alpha
        return x0, y0, alpha[..., 0]


# ------------------------------------------------------------------------------------ plan ---

class SequencePlan(SceneRenderer):

    def __init__(self, config: SceneConfig, seed: int | np.random.SeedSequence,
                 textures: TextureSource | None = None):
        self.config = config
        self.textures = TextureSource() if textures is None else textures
        rng = np.random.default_rng(seed)
        frames, width, height = config.frames, config.width, config.height

        # Background wider than the frame, so the camera can pan and zoom over it.
        self.background, self.background_source = self.textures.background(
            rng, int(round(height * 1.5)), int(round(width * 1.5)))
        camera_moves = rng.random() < config.p_camera_motion
        self.camera = np.stack([
            random_path(rng, frames, 0, 1, (30, 60)) if camera_moves else np.full(frames, rng.random()),
            random_path(rng, frames, 0, 1, (30, 60)) if camera_moves else np.full(frames, rng.random()),
            random_path(rng, frames, 0.7, 1.0, (30, 60)) if camera_moves else np.full(frames, 0.85),
        ], 1)

        # Lighting: a global gain and a linear gradient across the frame.
        if rng.random() < config.p_illumination:
            self.lighting = np.stack([random_path(rng, frames, 0.55, 1.35, (10, 40)),
                                      random_path(rng, frames, -0.6, 0.6, (20, 50)),
                                      random_path(rng, frames, -0.6, 0.6, (20, 50))], 1)
        else:
            self.lighting = np.tile([rng.uniform(0.85, 1.1), 0.0, 0.0], (frames, 1))
        self.exposure = rng.uniform(0.4, 1.0) if rng.random() < config.p_motion_blur else 0.0
        self.noise_sigma = rng.uniform(0.0, 5.0)
        self.jpeg_quality = int(rng.integers(80, 96))
        self.noise = rng.normal(0, self.noise_sigma, (height + 16, width + 16, 3)).astype(np.float32)
        self.noise_offsets = rng.integers(0, 17, (frames, 2))

        self.shape = SHAPES[int(rng.integers(len(SHAPES)))]
        target = self._make_target(rng)
        self.target_source = target[2]
        self.objects: list[SceneObject] = []  # in drawing order, back to front
        behind, in_front = self._make_distractors(rng, target)
        self.objects += behind
        self.objects.append(SceneObject("target", target[0], target[1]))
        self.objects += in_front
        self.objects += self._make_occluders(rng, self.objects[len(behind)].track)
        self.target_index = len(behind)

    # Objects -----------------------------------------------------------------------------

    def _sprite(self, rng: np.random.Generator, aspect: float, polygon: np.ndarray, *,
                avoid: str | None = None, texture: np.ndarray | None = None):
        if aspect >= 1:
            size = (SPRITE_SIDE, max(16, round(SPRITE_SIDE / aspect)))
        else:
            size = (max(16, round(SPRITE_SIDE * aspect)), SPRITE_SIDE)
        if texture is None:
            texture, source = self.textures.patch(rng, size[1], size[0], avoid=avoid)
        else:
            texture, source = cv2.resize(texture, size, interpolation=cv2.INTER_AREA), None
        sprite = make_sprite(texture, polygon, shading=rng.uniform(0, 0.5), outline=rng.random() < 0.4)
        return sprite, source, texture

    def _size_paths(self, rng: np.random.Generator, size: float, aspect: float, max_rotation: float):
        frames = self.config.frames
        scale = np.exp(random_path(rng, frames, -0.35, 0.35, (20, 50)))
        stretch = np.exp(random_path(rng, frames, -0.2, 0.2, (15, 40)))
        width = size * scale * np.sqrt(aspect) * stretch
        height = size * scale / np.sqrt(aspect) / stretch
        # The first frame's box is the initial box: start at the base size.
        width *= size * np.sqrt(aspect) / width[0]
        height *= size / np.sqrt(aspect) / height[0]
        angle = random_path(rng, frames, -max_rotation, max_rotation, (15, 40)) if max_rotation else np.zeros(frames)
        return width, height, angle

    def _position_path(self, rng: np.random.Generator, half_w: np.ndarray, half_h: np.ndarray,
                       start: np.ndarray | None, exit_allowed: bool):
        """Centre path through keys inside the frame; one key outside when the target exits."""
        frames, width, height = self.config.frames, self.config.width, self.config.height
        times = key_times(rng, frames, (10, 30))
        step = 0.35 * min(width, height)
        keys = np.zeros((len(times), 2))
        for k, t in enumerate(times.astype(int)):
            t = min(t, frames - 1)
            low = np.array([half_w[t], half_h[t]])
            high = np.array([width, height]) - low
            low, high = np.minimum(low, high), np.maximum(low, high)
            if k == 0:
                keys[k] = start if start is not None else rng.uniform(low, high)
            else:
                keys[k] = np.clip(keys[k - 1] + rng.uniform(-step, step, 2), low, high)
        exit_frames = []
        if exit_allowed and len(times) >= 4:
            k = int(rng.integers(2, len(times) - 1))
            t = int(times[k])
            axis = int(rng.integers(2))
            side = int(rng.integers(2))
            extent = 1.5 * max(half_w[t], half_h[t])  # just far enough to be out of view
            limit = (width, height)[axis]
            keys[k, axis] = limit + extent if side else -extent
            exit_frames = [t]
        return interpolate(times, keys, frames), exit_frames

    def _make_target(self, rng: np.random.Generator):
        config = self.config
        size = np.exp(rng.uniform(np.log(config.min_target_size), np.log(config.max_target_size)))
        size *= np.sqrt(config.width * config.height)
        aspect = float(np.exp(rng.uniform(np.log(0.4), np.log(2.5))))
        max_rotation = rng.uniform(0, config.max_rotation) if rng.random() < 0.6 else 0.0
        self._target_polygon = shape_polygon(rng, self.shape)
        sprite, source, texture = self._sprite(rng, aspect, self._target_polygon,
                                               avoid=self.background_source)
        width, height, angle = self._size_paths(rng, size, aspect, max_rotation)
        half_w, half_h = box_extent(width, height, angle)
        centre, self.exit_frames = self._position_path(rng, half_w, half_h, None, rng.random() < config.p_exit)
        self._target_texture, self._target_size, self._target_aspect = texture, size, aspect
        track = Track(centre[:, 0], centre[:, 1], width, height, angle, np.ones(config.frames))
        return sprite, track, source

    def _make_distractors(self, rng: np.random.Generator, target):
        config = self.config
        if rng.random() >= config.p_distractors:
            return [], []
        _, track_t, _ = target
        start_half = np.array(box_extent(track_t.width[:1], track_t.height[:1], track_t.angle[:1])).ravel()
        behind, in_front = [], []
        for _ in range(int(rng.integers(1, 4))):
            size = self._target_size * rng.uniform(0.8, 1.2)
            aspect = self._target_aspect * np.exp(rng.uniform(-0.15, 0.15))
            # The target's texture, mirrored and slightly recoloured, in a slightly different
            # outline of the same kind: hard to tell apart from the target.
            texture = self._target_texture[::1 if rng.random() < 0.5 else -1, ::-1]
            texture = jitter_colour(rng, np.ascontiguousarray(texture), False, 0.12)
            polygon = np.clip(self._target_polygon + rng.normal(0, 0.03, self._target_polygon.shape), 0, 1)
            polygon = (polygon - polygon.min(0)) / np.ptp(polygon, 0)
            sprite, _, _ = self._sprite(rng, aspect, polygon, texture=texture)
            width, height, angle = self._size_paths(rng, size, aspect, config.max_rotation * rng.random())
            half_w, half_h = box_extent(width, height, angle)
            # Start apart from the target, so the first frame shows the target alone.
            for _attempt in range(20):
                start = rng.uniform([half_w[0], half_h[0]],
                                    np.maximum([half_w[0], half_h[0]], [config.width - half_w[0], config.height - half_h[0]]))
                gap = np.abs(start - [track_t.cx[0], track_t.cy[0]]) - start_half - [half_w[0], half_h[0]]
                if gap.max() > 4:
                    break
            else:
                continue
            centre, _ = self._position_path(rng, half_w, half_h, start, False)
            track = Track(centre[:, 0], centre[:, 1], width, height, angle, np.ones(config.frames))
            (in_front if rng.random() < 0.3 else behind).append(SceneObject("distractor", sprite, track))
        return behind, in_front

    def _make_occluders(self, rng: np.random.Generator, target: Track) -> list[SceneObject]:
        """Objects passing in front of the target, timed to cross it during a window of frames."""
        config, frames = self.config, self.config.frames
        if frames < 24 or rng.random() >= config.p_occlusion:
            return []
        occluders = []
        events = 1 if frames < 80 else int(rng.integers(1, 3))
        slot = frames // events
        for event in range(events):
            length = int(rng.integers(16, 41))
            length = min(length, slot - 4)
            if length < 8:
                break
            first = event * slot + max(4, int(rng.integers(0, slot - length + 1)))
            first = min(first, frames - length - 1)
            window = np.arange(first, first + length + 1)
            if any(first - 20 <= frame <= first + length + 20 for frame in self.exit_frames):
                continue  # an occluder would leave the frame with the target, unseen
            half_w, half_h = box_extent(target.width[window], target.height[window], target.angle[window])
            half_w, half_h = half_w.max(), half_h.max()
            if rng.random() < config.p_full_occlusion:
                occluder_half = np.array([half_w, half_h]) * rng.uniform(1.4, 1.9, 2)
                polygon = UNIT_SQUARE
                heading = rng.uniform(0, 2 * np.pi)
                offset_across = 0.0
            else:
                # A pole sweeping across the target, or a smaller object passing off-centre.
                if rng.random() < 0.5:
                    horizontal = rng.random() < 0.5
                    thin = rng.uniform(0.2, 0.5)
                    long = rng.uniform(1.3, 2.0)
                    occluder_half = np.array([half_w * thin, half_h * long]) if horizontal else np.array([half_w * long, half_h * thin])
                    heading = 0.0 if horizontal else np.pi / 2
                    heading += np.pi * int(rng.integers(2))
                    offset_across = 0.0
                    polygon = shape_polygon(rng, "rectangle")
                else:
                    occluder_half = np.array([half_w, half_h]) * rng.uniform(0.5, 0.9, 2)
                    heading = rng.uniform(0, 2 * np.pi)
                    offset_across = rng.uniform(-0.6, 0.6) * min(half_w, half_h)
                    polygon = shape_polygon(rng, SHAPES[int(rng.integers(len(SHAPES)))])
            direction = np.array([np.cos(heading), np.sin(heading)])
            across = np.array([-direction[1], direction[0]])
            # Centres further apart along the heading than this do not overlap (their support).
            touching = (half_w + occluder_half[0]) * abs(direction[0]) + (half_h + occluder_half[1]) * abs(direction[1]) + 2
            # Visible from half a window before to half a window after, fading in and out.
            lead = length // 2
            shown = np.arange(max(0, first - lead), min(frames, first + length + lead + 1))
            progress = (shown - first) / length
            along = (2 * progress - 1) * touching
            cx = np.full(frames, -1e4)
            cy = np.full(frames, -1e4)
            cx[shown] = target.cx[shown] + along * direction[0] + offset_across * across[0]
            cy[shown] = target.cy[shown] + along * direction[1] + offset_across * across[1]
            opacity = np.zeros(frames)
            fade = np.minimum(np.minimum(shown - shown[0] + 1, shown[-1] - shown + 1) / 3.0, 1.0)
            opacity[shown] = fade
            aspect = occluder_half[0] / occluder_half[1]
            sprite, _, _ = self._sprite(rng, aspect, polygon, avoid=self.target_source)
            track = Track(cx, cy, np.full(frames, 2 * occluder_half[0]), np.full(frames, 2 * occluder_half[1]),
                          np.zeros(frames), opacity)
            occluders.append(SceneObject("occluder", sprite, track))
        return occluders

    # Rendering -----------------------------------------------------------------------------

    def target_geometry(self, t: int) -> tuple[np.ndarray, float, bool]:
        """The target's box inside the frame at t, the share of its area inside the frame, and
        whether the frame cuts it."""
        return object_geometry(self.objects[self.target_index], t, self.config.width, self.config.height)

    def render(self, t: int, *, masks: bool = False) -> Frame:
        config = self.config
        width, height = config.width, config.height
        fx, fy, zoom = self.camera[t]
        bg_h, bg_w = self.background.shape[:2]
        # Frame pixel p shows background pixel zoom * s * p + origin.
        scale = zoom * min(bg_w / width, bg_h / height)
        origin = np.array([fx * (bg_w - scale * width), fy * (bg_h - scale * height)])
        canvas = render_background(self.background, scale, origin, width, height)

        visible = None
        for index, obj in enumerate(self.objects):
            drawn = self._draw(canvas, obj, t, blur=obj.role != "occluder")
            if index == self.target_index:
                if drawn is not None:
                    visible = [drawn[0], drawn[1], drawn[2].copy()]
                    target_alpha = visible[2].copy()
            elif index > self.target_index and drawn is not None and visible is not None:
                hide_under(visible, drawn)

        image = self._finish(canvas, t)

        # Seen share of what was drawn, times the share of the outline inside the frame: exactly
        # 1 for a target in full view, whatever resampling did to its alpha.
        box, in_frame, cut = self.target_geometry(t)
        ratio = 0.0
        if visible is not None and target_alpha.sum() > 0:
            ratio = float(visible[2].sum()) / float(target_alpha.sum()) * in_frame
        frame = Frame(image, box, min(1.0, ratio), cut)
        if masks:
            frame.target_mask = np.zeros((height, width), np.float32)
            frame.visible_mask = np.zeros((height, width), np.float32)
            if visible is not None:
                x0, y0, seen = visible
                frame.target_mask[y0:y0 + seen.shape[0], x0:x0 + seen.shape[1]] = target_alpha
                frame.visible_mask[y0:y0 + seen.shape[0], x0:x0 + seen.shape[1]] = seen
        return frame

    # Description ---------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """GOT-10k meta_info fields describing the sequence."""
        track = self.objects[self.target_index].track
        speed = np.hypot(np.diff(track.cx), np.diff(track.cy))
        size = np.sqrt(track.width * track.height)
        relative = float(np.mean(speed / size[1:])) if len(speed) else 0.0
        motions = ["translating"]
        if np.ptp(track.angle) > 15:
            motions.append("rotating")
        if size.max() / size.min() > 1.3:
            motions.append("changing scale")
        adverb = "slowly" if relative < 0.03 else "steadily" if relative < 0.08 else "quickly"
        source = self.target_source.split(":")[-1]
        return {
            "object_class": self.shape,
            "motion_class": " and ".join(motions),
            "major_class": source,
            "root_class": "synthetic object",
            "motion_adverb": adverb,
        }
