"""The multi-object mode of the scene generator: pedestrian-like figures walking over a ground
plane, seen by a static or panning camera, with ground truth and a simulated public detector.

It shares the single-object scene's drawing (:class:`~ltr.dataset.synthetic.scene.SceneRenderer`:
sprites, motion blur, lighting, noise), textures and geometry; what differs is what the scene
holds:

- 10 to 30 walkers in view, each with its own appearance (skin, hair, a shirt cut from a
  photograph and tinted, trousers), a few near look-alikes of another walker, so that
  re-identification has something to learn and something to get wrong;
- walkers enter and leave at the left and right borders, cross each other's paths and stand
  still sometimes; their size follows their depth (feet lower in the image: nearer, larger);
- static occluders (poles, hedges, boxes) fixed on the ground;
- depth order: whatever stands nearer (feet lower) is drawn later and hides what is behind it;
- objects live in world (background) coordinates; in part of the sequences the camera pans over
  the world, so that every object moves in the image with it (camera-motion compensation matters).

Per frame :meth:`MotPlan.render` returns the image and, per object at least partly inside the
frame, its box (the whole object's box, occluded parts included, clipped to the frame) and its
visibility (the share of the whole object's drawn area that is seen: inside the frame and not
covered by anything nearer).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from ltr.data.boxes import cxcywh_to_xywh, xywh_to_xyxy, xyxy_to_xywh
from ltr.dataset.synthetic.scene import (SPRITE_SIDE, SceneObject, SceneRenderer, Sprite, Track, hide_under, make_sprite,
                                         object_geometry, random_path, render_background, shape_polygon)
from ltr.dataset.synthetic.textures import TextureSource, jitter_colour

PEDESTRIAN = 1  # MOTChallenge class of a walking or standing person
OCCLUDER = 9  # MOTChallenge class "occluder": written with mark 0, never scored
MIN_BOX_SIDE = 1.0  # pixels of an object's clipped box below which it has no ground-truth row

SKIN = np.array([[60, 90, 140], [80, 120, 180], [110, 150, 205], [140, 180, 225], [40, 60, 95]], np.float32)
HAIR = np.array([[20, 20, 25], [30, 50, 80], [60, 90, 130], [150, 150, 150], [40, 40, 120]], np.float32)


@dataclasses.dataclass(frozen=True)
class MotConfig:
    """What a multi-object sequence may contain; probabilities are per sequence or per walker."""

    width: int = 640
    height: int = 480
    frames: int = 150
    frame_rate: int = 25
    min_objects: int = 10  # walkers in view the sequence aims at: drawn from [min, max]
    max_objects: int = 30
    min_person_height: float = 0.10  # of the frame height, for the farthest walkers
    max_person_height: float = 0.55  # for the nearest
    p_camera_motion: float = 0.5
    p_lookalike: float = 0.15  # a walker dressed almost like one met before
    p_standing: float = 0.1  # a walker who hardly moves
    max_occluders: int = 3
    p_motion_blur: float = 0.3
    p_illumination: float = 0.4
    # The simulated detector.
    det_recall: float = 0.95  # chance to detect a fully visible walker of a good size
    det_box_noise: float = 0.04  # box side noise, as a share of the box, for a visible walker
    det_false_positives: float = 1.5  # mean false detections per frame

    def __post_init__(self):
        if self.width < 32 or self.height < 32:
            raise ValueError(f"frames must be at least 32x32 pixels, not {self.width}x{self.height}")
        if self.frames < 2:
            raise ValueError(f"a sequence needs at least 2 frames, not {self.frames}")
        if not 0 < self.min_objects <= self.max_objects:
            raise ValueError(f"need 0 < min_objects <= max_objects, not {self.min_objects}, {self.max_objects}")
        if not 0 < self.min_person_height <= self.max_person_height < 1:
            raise ValueError("need 0 < min_person_height <= max_person_height < 1")
        if self.frame_rate < 1:
            raise ValueError(f"frame_rate must be positive, not {self.frame_rate}")


@dataclasses.dataclass
class MotFrame:
    image: np.ndarray  # (H, W, 3) uint8, BGR
    ids: np.ndarray  # (N,) int64, 1-based identities
    boxes: np.ndarray  # (N, 4) x, y, w, h (toolkit pixels: the first pixel spans [0, 1)), clipped to the frame
    visibility: np.ndarray  # (N,) float64 in [0, 1]
    classes: np.ndarray  # (N,) int64: PEDESTRIAN or OCCLUDER
    masks: dict[int, tuple[np.ndarray, np.ndarray]] | None = None  # id -> (drawn alpha, seen alpha), (H, W)


@dataclasses.dataclass
class Walker:
    identity: int
    obj: SceneObject
    depth: np.ndarray  # (frames,) world y of the feet: larger is nearer
    first: int  # first frame in the scene


def person_polygon(rng: np.random.Generator) -> np.ndarray:
    """A standing figure's outline (head, shoulders, arms at the sides, two legs) whose bounding
    box is the unit square: (N, 2)."""
    shoulder = rng.uniform(0.02, 0.12)
    spread = rng.uniform(0.15, 0.25)
    body = np.array([
        [0.58, 0.15], [1 - shoulder, 0.2], [1.0, 0.56], [0.86, 0.58], [0.5 + spread + 0.05, 1.0],
        [0.53, 1.0], [0.5, 0.64], [0.47, 1.0], [0.5 - spread - 0.05, 1.0], [0.14, 0.58], [0.0, 0.56],
        [shoulder, 0.2], [0.42, 0.15]])
    # The head: an ellipse's arc from the left of the neck over the top to its right (y down).
    angles = np.deg2rad(np.linspace(120, 420, 22)[1:-1])
    head = np.stack([0.5 + 0.15 * np.cos(angles), 0.075 + 0.075 * np.sin(angles)], 1)
    points = np.concatenate([body, head])
    low, high = points.min(0), points.max(0)
    return (points - low) / (high - low)


def person_texture(rng: np.random.Generator, textures: TextureSource, height: int, width: int) -> np.ndarray:
    """(height, width, 3) uint8 clothes and skin, laid out for :func:`person_polygon`."""
    rows = np.arange(height)[:, None] / height
    shirt, _ = textures.patch(rng, height, width)
    shirt_colour = rng.uniform(30, 230, 3).astype(np.float32)
    # Mostly the shirt's colour, with the photograph's structure: distinct but not flat.
    shirt = 0.35 * shirt.astype(np.float32) + 0.65 * shirt_colour * (shirt.mean(2, keepdims=True) / 128 + 0.5) / 1.5
    trousers_colour = rng.uniform(20, 160, 3).astype(np.float32)
    trousers = trousers_colour + rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    skin = SKIN[int(rng.integers(len(SKIN)))] * rng.uniform(0.9, 1.1)
    hair = HAIR[int(rng.integers(len(HAIR)))] * rng.uniform(0.8, 1.2)
    image = np.where(rows[..., None] < 0.6, shirt, trousers)
    image = np.where(rows[..., None] < 0.16, np.broadcast_to(skin, image.shape), image)
    image = np.where(rows[..., None] < 0.05, np.broadcast_to(hair, image.shape), image)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


class MotPlan(SceneRenderer):
    """Everything random about one multi-object sequence, drawn from ``seed``; :meth:`render`
    draws frame t, :meth:`detections` runs the simulated detector over the ground truth."""

    def __init__(self, config: MotConfig, seed: int | np.random.SeedSequence,
                 textures: TextureSource | None = None):
        self.config = config
        self.textures = TextureSource() if textures is None else textures
        sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        scene_seed, detector_seed = sequence.spawn(2)
        self.detector_seed = detector_seed
        rng = np.random.default_rng(scene_seed)
        frames, width, height = config.frames, config.width, config.height

        # The world: a background wider and taller than the frame; the camera shows a window of it.
        self.background, self.background_source = self.textures.background(
            rng, int(round(height * 1.25)), int(round(width * 1.6)))
        bg_h, bg_w = self.background.shape[:2]
        self.camera_moves = bool(rng.random() < config.p_camera_motion)
        if self.camera_moves:
            self.origin = np.stack([random_path(rng, frames, 0, bg_w - width, (30, 60)),
                                    random_path(rng, frames, 0, bg_h - height, (40, 80))], 1)
        else:
            self.origin = np.tile(rng.uniform([0, 0], [bg_w - width, bg_h - height]), (frames, 1))

        if rng.random() < config.p_illumination:
            self.lighting = np.stack([random_path(rng, frames, 0.75, 1.2, (20, 50)),
                                      random_path(rng, frames, -0.4, 0.4, (30, 60)),
                                      random_path(rng, frames, -0.4, 0.4, (30, 60))], 1)
        else:
            self.lighting = np.tile([rng.uniform(0.9, 1.1), 0.0, 0.0], (frames, 1))
        self.exposure = rng.uniform(0.3, 0.8) if rng.random() < config.p_motion_blur else 0.0
        self.noise_sigma = rng.uniform(0.0, 4.0)
        self.jpeg_quality = int(rng.integers(80, 96))
        self.noise = rng.normal(0, self.noise_sigma, (height + 16, width + 16, 3)).astype(np.float32)
        self.noise_offsets = rng.integers(0, 17, (frames, 2))

        # Ground plane: a walker's height grows linearly with the world y of its feet.
        self.feet_range = (0.3 * bg_h, 1.04 * bg_h)
        self.height_range = (config.min_person_height * height, config.max_person_height * height)
        self.target_count = int(rng.integers(config.min_objects, config.max_objects + 1))
        self.walkers: list[Walker] = []
        self._textures_seen: list[np.ndarray] = []
        self._populate(rng)
        self.occluders = self._make_occluders(rng)

    # World ---------------------------------------------------------------------------------

    def person_height(self, feet: np.ndarray) -> np.ndarray:
        low, high = self.feet_range
        share = np.clip((feet - low) / (high - low), 0, 1)
        return self.height_range[0] + share * (self.height_range[1] - self.height_range[0])

    def _in_view(self, track: Track) -> np.ndarray:
        """(frames,) whether the track's box overlaps the frame."""
        corners = xywh_to_xyxy(cxcywh_to_xywh(np.stack([track.cx, track.cy, track.width, track.height], 1)))
        return ((corners[:, 2] > 0) & (corners[:, 0] < self.config.width) & (corners[:, 3] > 0)
                & (corners[:, 1] < self.config.height) & (track.opacity > 0))

    def _walker(self, rng: np.random.Generator, first: int, feet: np.ndarray, heading: float) -> Walker:
        """A walker appearing at frame ``first`` with its feet at world ``feet``, walking to the
        right (heading > 0) or left."""
        config, frames = self.config, self.config.frames
        scale = rng.uniform(0.85, 1.15)  # taller and shorter people at one depth
        standing = rng.random() < config.p_standing
        # Human pace: about 1.3 heights per second, varied; a standing walker shifts on its feet.
        pace = rng.uniform(0.8, 1.8) * (0.03 if standing else 1.0) / config.frame_rate
        slope = rng.uniform(-0.35, 0.35) + random_path(rng, frames, -0.15, 0.15, (20, 50))
        position = np.zeros((frames, 2))
        position[first] = feet
        for t in range(first + 1, frames):
            step = pace * self.person_height(position[t - 1, 1]) * scale
            direction = np.array([np.sign(heading) * np.cos(slope[t]), np.sin(slope[t])])
            position[t] = position[t - 1] + step * direction
            position[t, 1] = np.clip(position[t, 1], *self.feet_range)
        position[:first] = position[first]
        person_h = self.person_height(position[:, 1]) * scale
        aspect = rng.uniform(0.33, 0.45)
        # Legs and arms swinging, about two steps a second: the outline's width breathes.
        phase = rng.uniform(0, 2 * np.pi) + np.arange(frames) * 2 * np.pi * 2.0 / config.frame_rate
        person_w = person_h * aspect * (1 + (0 if standing else 0.06) * np.abs(np.sin(phase)))
        cx = position[:, 0] - self.origin[:, 0]
        cy = position[:, 1] - person_h / 2 - self.origin[:, 1]
        opacity = (np.arange(frames) >= first).astype(np.float64)
        track = Track(cx, cy, person_w, person_h, np.zeros(frames), opacity)
        identity = len(self.walkers) + 1
        return Walker(identity, SceneObject("pedestrian", self._person_sprite(rng, aspect), track), position[:, 1], first)

    def _person_sprite(self, rng: np.random.Generator, aspect: float) -> Sprite:
        size = (max(16, round(SPRITE_SIDE * aspect)), SPRITE_SIDE)
        if self._textures_seen and rng.random() < self.config.p_lookalike:
            # Dressed almost like someone met before: mirrored, the colours a little off.
            texture = self._textures_seen[int(rng.integers(len(self._textures_seen)))]
            texture = cv2.resize(texture[:, ::-1], size, interpolation=cv2.INTER_AREA)
            texture = jitter_colour(rng, np.ascontiguousarray(texture), False, 0.08)
        else:
            texture = person_texture(rng, self.textures, size[1], size[0])
        self._textures_seen.append(texture)
        return make_sprite(texture, person_polygon(rng), shading=rng.uniform(0.1, 0.4), outline=rng.random() < 0.3)

    def _populate(self, rng: np.random.Generator) -> None:
        config, frames, width, height = self.config, self.config.frames, self.config.width, self.config.height
        in_view = np.zeros(frames, np.int64)
        limit = 4 * config.max_objects + self.target_count
        low_feet, high_feet = self.feet_range

        def add(walker: Walker) -> None:
            self.walkers.append(walker)
            in_view[:] += self._in_view(walker.obj.track)

        # Frame 1: the view already holds its walkers, anywhere on the visible ground.
        ox, oy = self.origin[0]
        for _ in range(self.target_count):
            feet = rng.uniform([ox, max(low_feet, oy + 0.15 * height)], [ox + width, min(high_feet, oy + 1.04 * height)])
            add(self._walker(rng, 0, feet, rng.choice([-1.0, 1.0])))
        # Later: new walkers come in at the left and right borders as others leave.
        for t in range(1, frames):
            if len(self.walkers) >= limit:
                break
            deficit = self.target_count - in_view[t]
            for _ in range(int(rng.poisson(max(0.0, float(deficit)) * 0.2 + 0.03))):
                ox, oy = self.origin[t]
                feet_y = rng.uniform(max(low_feet, oy + 0.2 * height), min(high_feet, oy + 1.04 * height))
                margin = 0.3 * self.person_height(np.array(feet_y)) + 2
                left = rng.random() < 0.5
                feet = np.array([ox - margin if left else ox + width + margin, feet_y])
                add(self._walker(rng, t, feet, 1.0 if left else -1.0))

    def _make_occluders(self, rng: np.random.Generator) -> list[Walker]:
        """Poles, hedges and boxes standing on the ground in view of the first frame."""
        config, frames, width, height = self.config, self.config.frames, self.config.width, self.config.height
        occluders = []
        ox, oy = self.origin[0]
        for _ in range(int(rng.integers(0, config.max_occluders + 1))):
            base = rng.uniform(max(self.feet_range[0], oy + 0.4 * height), min(self.feet_range[1], oy + height))
            person = float(self.person_height(np.array(base)))
            if rng.random() < 0.5:  # a pole: narrow and tall
                size = np.array([person * rng.uniform(0.12, 0.3), person * rng.uniform(1.1, 1.8)])
                polygon = shape_polygon(rng, "rectangle")
            else:  # a hedge or a box: wide and low, hiding legs
                size = np.array([person * rng.uniform(0.8, 2.0), person * rng.uniform(0.3, 0.6)])
                polygon = shape_polygon(rng, "blob" if rng.random() < 0.5 else "rectangle")
            x = rng.uniform(ox, ox + width)
            shape = (max(16, round(160 * min(1.0, size[0] / size[1]))), max(16, round(160 * min(1.0, size[1] / size[0]))))
            texture, _ = self.textures.patch(rng, shape[1], shape[0], avoid=self.background_source)
            sprite = make_sprite(texture, polygon, shading=rng.uniform(0, 0.4))
            track = Track(x - self.origin[:, 0], base - size[1] / 2 - self.origin[:, 1], np.full(frames, size[0]),
                          np.full(frames, size[1]), np.zeros(frames), np.ones(frames))
            identity = len(self.walkers) + len(occluders) + 1
            occluders.append(Walker(identity, SceneObject("occluder", sprite, track), np.full(frames, base), 0))
        return occluders

    # Rendering -----------------------------------------------------------------------------

    def render(self, t: int, *, masks: bool = False) -> MotFrame:
        config = self.config
        width, height = config.width, config.height
        canvas = render_background(self.background, 1.0, self.origin[t], width, height)
        objects = [w for w in self.walkers + self.occluders if w.obj.track.opacity[t] > 0]
        # Far (feet higher in the world) first: the nearer is drawn later and hides it.
        objects.sort(key=lambda w: (w.depth[t], w.identity))
        drawn_alpha: dict[int, tuple[int, int, np.ndarray]] = {}
        seen: dict[int, list] = {}
        for walker in objects:
            drawn = self._draw(canvas, walker.obj, t, blur=walker.obj.role != "occluder")
            if drawn is None:
                continue
            for entry in seen.values():
                hide_under(entry, drawn)
            drawn_alpha[walker.identity] = (drawn[0], drawn[1], drawn[2].copy())
            seen[walker.identity] = [drawn[0], drawn[1], drawn[2].copy()]
        image = self._finish(canvas, t)

        ids, boxes, visibility, classes = [], [], [], []
        for walker in sorted(objects, key=lambda w: w.identity):
            box, in_frame, _ = object_geometry(walker.obj, t, width, height)
            if box[2] < MIN_BOX_SIDE or box[3] < MIN_BOX_SIDE:
                continue
            ratio = 0.0
            if walker.identity in seen:
                total = float(drawn_alpha[walker.identity][2].sum())
                if total > 0:
                    ratio = float(seen[walker.identity][2].sum()) / total * in_frame
            ids.append(walker.identity)
            boxes.append(box)
            visibility.append(min(1.0, max(0.0, ratio)))
            classes.append(PEDESTRIAN if walker.obj.role == "pedestrian" else OCCLUDER)
        frame = MotFrame(image, np.array(ids, np.int64), np.array(boxes, np.float64).reshape(-1, 4),
                         np.array(visibility, np.float64), np.array(classes, np.int64))
        if masks:
            frame.masks = {}
            for identity, (x0, y0, alpha) in drawn_alpha.items():
                full = np.zeros((height, width), np.float32)
                visible = np.zeros((height, width), np.float32)
                full[y0:y0 + alpha.shape[0], x0:x0 + alpha.shape[1]] = alpha
                visible[y0:y0 + alpha.shape[0], x0:x0 + alpha.shape[1]] = seen[identity][2]
                frame.masks[identity] = (full, visible)
        return frame

    # The simulated detector ----------------------------------------------------------------

    def detections(self, frames: list[MotFrame]) -> np.ndarray:
        """A public detector's output over the sequence: ``(N, 6)`` rows of frame (1-based),
        x, y, w, h (toolkit pixels) and score, frame by frame, best score first.

        A walker is found with a chance that falls with its occlusion (none below 10% visible)
        and with small size; its box is noisy, more so when it is occluded; its score is high
        for a walker in full view and low for one mostly hidden (what ByteTrack's second stage
        uses). False detections come at random places at a walker's size, mostly with low
        scores. Deterministic from the sequence's seed, independent of the rendering."""
        config = self.config
        rng = np.random.default_rng(self.detector_seed)
        small = 0.08 * config.height  # below this height a walker is found less often
        rows = []
        for t, frame in enumerate(frames):
            found = []
            for box, visibility, kind in zip(frame.boxes, frame.visibility, frame.classes):
                if kind != PEDESTRIAN:
                    continue
                size_factor = min(1.0, box[3] / small)
                chance = config.det_recall * np.clip((visibility - 0.1) / 0.5, 0, 1) ** 0.7 * size_factor
                # Draw every number whether or not it is used: the stream stays aligned.
                hit, noise, score_noise = rng.random(), rng.normal(0, 1, 4), rng.normal(0, 0.6)
                if hit >= chance:
                    continue
                sides = np.array([box[2], box[3], box[2], box[3]])
                corners = xywh_to_xyxy(box) + noise * config.det_box_noise * (1 + 2 * (1 - visibility)) * sides
                corners = np.clip(corners, 0, [config.width, config.height, config.width, config.height])
                noisy = xyxy_to_xywh(corners)
                if noisy[2] < MIN_BOX_SIDE or noisy[3] < MIN_BOX_SIDE:
                    continue
                score = 1 / (1 + np.exp(-(6 * (visibility - 0.35) + score_noise)))
                found.append([t + 1, *noisy, score])
            for _ in range(int(rng.poisson(config.det_false_positives))):
                h = float(self.person_height(rng.uniform(*self.feet_range))) * rng.uniform(0.6, 1.2)
                w = h * rng.uniform(0.3, 0.5)
                corner = rng.uniform([0, 0], [max(1.0, config.width - w), max(1.0, config.height - h)])
                corners = np.clip(xywh_to_xyxy(np.array([*corner, w, h])), 0, [config.width, config.height] * 2)
                score = rng.beta(1.5, 5.0)
                found.append([t + 1, *xyxy_to_xywh(corners), score])
            found.sort(key=lambda row: -row[5])
            rows.extend(found)
        return np.array(rows, np.float64).reshape(-1, 6)
