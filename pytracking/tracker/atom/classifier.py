"""ATOM's online target classifier: a projection of the backbone features to fewer channels and
a small convolution filter, fitted to Gaussian labels by least squares.

On the first frame the projection and the filter are learned jointly (Gauss-Newton with
conjugate gradient); the projection then stays fixed and the filter alone is refined by
conjugate gradient on a weighted memory of projected training samples.

Score map geometry: features have ``feature_sz`` cells of ``stride`` sample pixels; the filter
(size k) is applied with padding k // 2, so an even k gives one score cell more per side than
there are feature cells. :meth:`OnlineClassifier.cell_to_pixel` is the one mapping between
score cells and sample pixels that both the labels and the localisation use.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from pytracking.libs import dcf
from pytracking.libs.optimization import ConjugateGradient, GaussNewtonCG, L2Problem
from pytracking.libs.tensorlist import TensorList


def mlu(x: torch.Tensor, slope: float) -> torch.Tensor:
    """The 'mlu' response activation: linear above 0, a soft floor of -slope below (ELU of a
    leaky ReLU), so that the filter is not pushed to predict strongly negative background."""
    return F.elu(F.leaky_relu(x, 1.0 / slope), slope)


def activation_function(spec) -> callable:
    """``("mlu", slope)``, ``"identity"``/None, or ``("relu",)`` -> function."""
    if spec is None or spec == "identity" or spec == ("identity",):
        return lambda x: x
    name = spec[0] if isinstance(spec, (tuple, list)) else spec
    if name == "mlu":
        slope = float(spec[1])
        return lambda x: mlu(x, slope)
    if name == "relu":
        return F.relu
    raise ValueError(f"unknown response activation {spec!r}: use ('mlu', slope), 'relu' or 'identity'")


class _ConvProblem(L2Problem):
    """Weighted data term and filter regulariser; the samples are already projected."""

    def __init__(self, samples: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, *,
                 filter_reg: float, activation, precond: TensorList | None = None):
        self.samples, self.labels, self.weights = samples, labels, weights
        self.filter_reg, self.activation, self.precond = filter_reg, activation, precond

    def scores(self, samples: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
        return self.activation(F.conv2d(samples, filt, padding=filt.shape[-1] // 2))

    def __call__(self, x: TensorList) -> TensorList:
        data = (self.scores(self.samples, x[0]) - self.labels) * self.weights.sqrt().view(-1, 1, 1, 1)
        return TensorList([data, math.sqrt(self.filter_reg) * x[0]])

    def M1(self, x: TensorList) -> TensorList:
        return x if self.precond is None else x / self.precond


class _FactorizedConvProblem(_ConvProblem):
    """Filter and projection matrix together: x = [filter (1, D, k, k), projection (D, C, 1, 1)]."""

    def __init__(self, *args, projection_reg: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.projection_reg = projection_reg

    def __call__(self, x: TensorList) -> TensorList:
        projected = F.conv2d(self.samples, x[1])
        data = (self.scores(projected, x[0]) - self.labels) * self.weights.sqrt().view(-1, 1, 1, 1)
        return TensorList([data, math.sqrt(self.filter_reg) * x[0], math.sqrt(self.projection_reg) * x[1]])


class SampleMemory:
    """Projected training samples with weights: the first ``num_init`` are the first frame's
    (augmented) samples and keep at least ``init_min_weight`` of the total weight; a new sample
    gets weight ``learning_rate`` relative to the rest and, once the memory is full, replaces
    the lightest sample that is not an initial one."""

    def __init__(self, capacity: int, init_samples: torch.Tensor, init_labels: torch.Tensor,
                 init_weights: torch.Tensor, *, init_min_weight: float):
        count = init_samples.shape[0]
        if count > capacity:
            raise ValueError(f"{count} initial samples do not fit a sample memory of {capacity}")
        self.capacity, self.num_init, self.init_min_weight = capacity, count, init_min_weight
        self.samples = init_samples.new_zeros((capacity,) + tuple(init_samples.shape[1:]))
        self.labels = init_labels.new_zeros((capacity,) + tuple(init_labels.shape[1:]))
        self.weights = init_weights.new_zeros(capacity)
        self.samples[:count], self.labels[:count] = init_samples, init_labels
        self.weights[:count] = init_weights / init_weights.sum()
        self.size = count
        self.previous_index: int | None = None

    def add(self, sample: torch.Tensor, label: torch.Tensor, learning_rate: float) -> int:
        """Store ``sample`` (1, D, H, W) with ``label`` (1, 1, H', W'); returns its slot."""
        if self.size < self.capacity:
            index = self.size
            self.size += 1
        else:
            index = self.num_init + int(torch.argmin(self.weights[self.num_init:]))
        weights = self.weights
        if learning_rate >= 1.0:
            weights.zero_()
            weights[index] = 1.0
        else:
            weights[:self.size] *= 1.0 - learning_rate
            weights[index] = learning_rate
            weights /= weights.sum()
            init_total = float(weights[:self.num_init].sum())
            if self.init_min_weight > 0 and init_total < self.init_min_weight:
                rest = weights[self.num_init:].sum()
                weights[self.num_init:] *= (1.0 - self.init_min_weight) / rest
                weights[:self.num_init] *= self.init_min_weight / init_total
        self.samples[index], self.labels[index] = sample[0], label[0]
        self.previous_index = index
        return index

    def active(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.samples[:self.size], self.labels[:self.size], self.weights[:self.size]


class OnlineClassifier:
    """Projection + filter learned online (see the module docstring).

    Features go in as (N, C, H, W) backbone maps of the sample; scores come out as
    (N, H + 1 - k % 2, W + 1 - k % 2) maps."""

    def __init__(self, *, feature_sz: int, stride: float, filter_size: int = 4, compressed_dim: int = 64,
                 output_sigma_factor: float = 0.25, filter_reg: float = 0.1, projection_reg: float = 1e-4,
                 activation=("mlu", 0.05), memory_size: int = 250, learning_rate: float = 0.01,
                 init_samples_minimum_weight: float = 0.25, precond_data_param: float = 0.75,
                 precond_reg_param: float = 0.25, precond_proj_param: float = 40.0,
                 fletcher_reeves: bool = False, standard_alpha: bool = True,
                 direction_forget_factor: float = 0.0, generator: torch.Generator | None = None):
        self.feature_sz, self.stride, self.filter_size = int(feature_sz), float(stride), int(filter_size)
        self.output_sz = self.feature_sz + 1 - self.filter_size % 2
        self.compressed_dim, self.output_sigma_factor = compressed_dim, output_sigma_factor
        self.filter_reg, self.projection_reg = filter_reg, projection_reg
        self.activation = activation_function(activation)
        self.memory_size, self.learning_rate = memory_size, learning_rate
        self.init_min_weight = init_samples_minimum_weight
        self.precond = (precond_data_param, precond_reg_param, precond_proj_param)
        self.cg_options = dict(fletcher_reeves=fletcher_reeves, standard_alpha=standard_alpha,
                               direction_forget_factor=direction_forget_factor)
        self.generator = generator
        self.projection: torch.Tensor | None = None
        self.filter: torch.Tensor | None = None
        self.memory: SampleMemory | None = None
        self.losses: list[float] = []

    # Geometry ------------------------------------------------------------------------------

    def cell_to_pixel(self, cell: torch.Tensor) -> torch.Tensor:
        """Score-map cell coordinates -> sample pixel coordinates (same axis order). With
        padding k // 2, cell i covers feature cells i - k//2 .. i - k//2 + k - 1, whose centre
        lies at sample pixel stride * (i - k//2 + k/2)."""
        return self.stride * (cell + self.filter_size / 2 - self.filter_size // 2)

    def pixel_to_cell(self, pixel: torch.Tensor) -> torch.Tensor:
        return pixel / self.stride - self.filter_size / 2 + self.filter_size // 2

    def label(self, target_centre_px: torch.Tensor, target_size_px: torch.Tensor) -> torch.Tensor:
        """Gaussian label (1, 1, S, S) peaking at the target centre (x, y sample pixels), of
        width output_sigma_factor * sqrt(target area) in cells."""
        sigma = self.output_sigma_factor * float(torch.sqrt(target_size_px.prod())) / self.stride
        centre = self.pixel_to_cell(target_centre_px) - (self.output_sz - 1) / 2
        return dcf.label_function_spatial(self.output_sz, sigma, (float(centre[1]), float(centre[0])))

    # Learning ------------------------------------------------------------------------------

    def _preconditioner(self, projected: torch.Tensor, weights: torch.Tensor, with_projection: bool,
                        features: torch.Tensor | None = None) -> TensorList:
        data, reg, proj = self.precond
        # Per-channel energy of the (weighted) projected samples: the data term's diagonal scale.
        energy = (weights.view(-1, 1, 1, 1) * projected ** 2).sum(0).mean((-2, -1)) * self.filter_size ** 2
        diag = [(data * energy + reg * self.filter_reg).view(1, -1, 1, 1).expand_as(self.filter).clone()]
        if with_projection:
            feature_energy = (weights.view(-1, 1, 1, 1) * features ** 2).sum(0).mean((-2, -1))
            diag.append((proj * (feature_energy + self.projection_reg)).view(1, -1, 1, 1)
                        .expand_as(self.projection).clone())
        return TensorList(diag)

    def initialize(self, features: torch.Tensor, labels: torch.Tensor, *, num_gn_iter: int = 6,
                   num_cg_iter: int = 10) -> None:
        """Learn projection and filter from the first frame's samples: features (N, C, H, W),
        labels (N, 1, S, S), all weighted equally; then fill the sample memory."""
        count, channels = features.shape[:2]
        dim = min(self.compressed_dim, channels)
        self.projection = torch.randn(dim, channels, 1, 1, generator=self.generator, dtype=features.dtype)
        self.projection = (self.projection / math.sqrt(channels)).to(features.device)
        self.filter = features.new_zeros(1, dim, self.filter_size, self.filter_size)
        weights = features.new_full((count,), 1.0 / count)
        precond = self._preconditioner(F.conv2d(features, self.projection), weights, True, features)
        problem = _FactorizedConvProblem(features, labels, weights, filter_reg=self.filter_reg,
                                         activation=self.activation, precond=precond,
                                         projection_reg=self.projection_reg)
        optimizer = GaussNewtonCG(problem, TensorList([self.filter, self.projection]), **self.cg_options)
        optimizer.run(num_cg_iter, num_gn_iter)
        self.losses.extend(optimizer.losses)
        with torch.no_grad():
            projected = F.conv2d(features, self.projection)
        self.memory = SampleMemory(self.memory_size, projected, labels, weights,
                                   init_min_weight=self.init_min_weight)
        self._filter_optimizer = None

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return F.conv2d(features, self.projection)

    def scores(self, projected: torch.Tensor) -> torch.Tensor:
        """(N, D, H, W) projected features -> (N, S, S) scores."""
        with torch.no_grad():
            return self.activation(F.conv2d(projected, self.filter, padding=self.filter_size // 2))[:, 0]

    def update(self, projected: torch.Tensor, label: torch.Tensor, learning_rate: float | None = None) -> None:
        """Add a projected sample (1, D, H, W) with its label to the memory."""
        self.memory.add(projected, label, self.learning_rate if learning_rate is None else learning_rate)

    def optimize(self, num_cg_iter: int) -> None:
        """``num_cg_iter`` conjugate-gradient steps on the filter over the sample memory."""
        if num_cg_iter <= 0:
            return
        samples, labels, weights = self.memory.active()
        precond = self._preconditioner(samples, weights, False)
        problem = _ConvProblem(samples, labels, weights, filter_reg=self.filter_reg, activation=self.activation,
                               precond=precond)
        if self._filter_optimizer is None:
            self._filter_optimizer = ConjugateGradient(problem, TensorList([self.filter]), **self.cg_options)
        self._filter_optimizer.problem = problem
        self._filter_optimizer.run(num_cg_iter)
