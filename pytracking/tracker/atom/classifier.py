"""ATOM's online target classifier: a projection of the backbone features to fewer channels and
a small convolution filter, fitted to Gaussian labels by least squares.

On the first frame the projection and the filter are learned jointly (Gauss-Newton with
conjugate gradient); the projection then stays fixed and the filter alone is refined by
conjugate gradient on a weighted memory of projected training samples.

The rules are the published tracker's:

- scores: the filter (size k) correlates the projected features with padding k // 2, and an
  even k's extra last row and column are dropped ('same' mode), so scores are feature_sz x
  feature_sz; score cell i covers feature cells i - k//2 .. i - k//2 + k - 1;
- labels: Gaussians on that grid, their centre given relative to the middle of the map;
- preconditioner ``"diagonal"``: the joint problem's search direction is the residual divided
  by ``filter_reg`` (filter) and ``projection_reg`` (projection); the filter-only problem has
  none. Gauss-Newton runs conjugate gradient with Fletcher-Reeves, the filter updates with the
  ``fletcher_reeves`` option;
- the sample memory's weights: see :class:`SampleMemory`.

``preconditioner="energy"`` is this toolkit's alternative (see
``pytracking/parameter/atom/improved.py``): a diagonal scaled by the samples' energy, for both
problems.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from pytracking.libs import dcf
from pytracking.libs.operation import conv2d
from pytracking.libs.optimization import ConjugateGradient, GaussNewtonCG, L2Problem
from pytracking.libs.tensorlist import TensorList

PRECONDITIONERS = ("diagonal", "energy")
PROJECTION_INITS = ("randn", "pca")
FILTER_INITS = ("randn", "zeros")


def mlu(x: torch.Tensor, slope: float) -> torch.Tensor:
    """The 'mlu' response activation: linear above 0, a soft floor of -slope below (ELU of a
    leaky ReLU), so that the filter is not pushed to predict strongly negative background."""
    return F.elu(F.leaky_relu(x, 1.0 / slope), slope)


def activation_function(spec) -> callable:
    """``("mlu", slope)``, ``"identity"``/``"none"``/None, or ``("relu",)`` -> function."""
    if spec is None or spec in ("identity", "none", ("identity",), ("none",)):
        return lambda x: x
    name = spec[0] if isinstance(spec, (tuple, list)) else spec
    if name == "mlu":
        slope = float(spec[1])
        return lambda x: mlu(x, slope)
    if name == "relu":
        return F.relu
    raise ValueError(f"unknown response activation {spec!r}: use ('mlu', slope), 'relu' or 'none'")


class _ConvProblem(L2Problem):
    """Weighted data term and filter regulariser; the samples are already projected."""

    def __init__(self, samples: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, *,
                 filter_reg: float, activation, precond: TensorList | None = None):
        self.samples, self.labels, self.weights = samples, labels, weights
        self.filter_reg, self.activation, self.precond = filter_reg, activation, precond

    def scores(self, samples: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
        return self.activation(conv2d(samples, filt, mode="same"))

    def __call__(self, x: TensorList) -> TensorList:
        data = (self.scores(self.samples, x[0]) - self.labels) * self.weights.sqrt().view(-1, 1, 1, 1)
        return TensorList([data, math.sqrt(self.filter_reg) * x[0]])

    def ip_input(self, a: TensorList, b: TensorList) -> torch.Tensor:
        # Summed by correlation as the published tracker sums it: conjugate gradient amplifies
        # rounding, and the same reduction order keeps results equal to its bit for bit on a CPU.
        total = F.conv2d(a[0], b[0]).view(-1)
        for x, y in zip(a[1:], b[1:]):
            total = total + F.conv2d(x.reshape(1, -1, 1, 1), y.reshape(1, -1, 1, 1)).view(-1)
        return total[0]

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
    """Projected training samples with weights, as the published tracker keeps them.

    The first ``num_init`` slots hold the first frame's (augmented) samples, weighted equally.
    A new sample goes to the slot of least weight (among the non-initial ones when
    ``init_min_weight`` is set; empty slots weigh 0, so they fill first, in order) and gets
    weight ``learning_rate`` / (1 - learning_rate) relative to the rest when it is the first
    update, else the weight of the previous update's sample divided by (1 - learning_rate); the
    weights are then normalised. When the initial samples' share falls below
    ``init_min_weight``, all weights are divided by init_min_weight + (the other samples' sum)
    and the initial ones set to init_min_weight / num_init (so the total can exceed 1 slightly,
    as published). A learning rate of 1 keeps only the new sample."""

    def __init__(self, capacity: int, init_samples: torch.Tensor, init_labels: torch.Tensor, *,
                 init_min_weight: float | None):
        count = init_samples.shape[0]
        if count > capacity:
            raise ValueError(f"{count} initial samples do not fit a sample memory of {capacity}")
        self.capacity, self.num_init = capacity, count
        self.init_min_weight = init_min_weight or None  # 0 and None: no minimum
        self.samples = init_samples.new_zeros((capacity,) + tuple(init_samples.shape[1:]))
        self.labels = init_labels.new_zeros((capacity,) + tuple(init_labels.shape[1:]))
        self.weights = init_samples.new_zeros(capacity)
        self.samples[:count], self.labels[:count] = init_samples, init_labels
        self.weights[:count] = 1.0 / count
        self.size = count  # slots filled: always the first ``size``
        self.previous_index: int | None = None

    def next_index(self) -> int:
        start = self.num_init if self.init_min_weight is not None else 0
        return start + int(torch.argmin(self.weights[start:]))

    def add(self, sample: torch.Tensor, label: torch.Tensor, learning_rate: float) -> int:
        """Store ``sample`` (1, D, H, W) with ``label`` (1, 1, H, W); returns its slot."""
        weights = self.weights
        if learning_rate == 1:
            weights.zero_()
            index = 0
            weights[0] = 1.0
        else:
            index = self.next_index()
            if self.previous_index is None:
                weights /= 1 - learning_rate
                weights[index] = learning_rate
            else:
                weights[index] = weights[self.previous_index] / (1 - learning_rate)
        weights /= weights.sum()
        minimum = self.init_min_weight
        if minimum is not None and weights[:self.num_init].sum() < minimum:
            weights /= minimum + weights[self.num_init:].sum()
            weights[:self.num_init] = minimum / self.num_init
        self.samples[index], self.labels[index] = sample[0], label[0]
        self.previous_index = index
        self.size = max(self.size, index + 1)
        return index

    def active(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The filled slots' samples, labels and weights (empty slots weigh 0 and add nothing)."""
        return self.samples[:self.size], self.labels[:self.size], self.weights[:self.size]


class OnlineClassifier:
    """Projection + filter learned online (see the module docstring).

    Features go in as (N, C, H, W) backbone maps of the sample, H = W = ``feature_sz``; scores
    and labels are (N, H, W) maps on the same grid. ``projection_init``: "randn"
    (normal, std 1 / sqrt(C)) or "pca" (the leading principal directions of the first frame's
    features); ``filter_init``: "randn" (normal, std 1 / the filter's element count) or
    "zeros". Random draws use ``generator``."""

    def __init__(self, *, feature_sz: int, filter_size: int = 4, compressed_dim: int = 64,
                 filter_reg: float = 0.1, projection_reg: float = 1e-4, activation=("mlu", 0.05),
                 memory_size: int = 250, learning_rate: float = 0.01, init_samples_minimum_weight: float | None = 0.25,
                 preconditioner: str = "diagonal", precond_data_param: float = 0.75, precond_reg_param: float = 0.25,
                 precond_proj_param: float = 40.0, fletcher_reeves: bool = False, standard_alpha: bool = True,
                 direction_forget_factor: float = 0.0, projection_init: str = "randn", filter_init: str = "randn",
                 generator: torch.Generator | None = None):
        for name, value, choices in (("preconditioner", preconditioner, PRECONDITIONERS),
                                     ("projection_init", projection_init, PROJECTION_INITS),
                                     ("filter_init", filter_init, FILTER_INITS)):
            if value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        self.feature_sz, self.filter_size = int(feature_sz), int(filter_size)
        self.output_sz = self.feature_sz  # scores and labels: the feature grid
        self.compressed_dim = compressed_dim
        self.filter_reg, self.projection_reg = filter_reg, projection_reg
        self.activation = activation_function(activation)
        self.memory_size, self.learning_rate = memory_size, learning_rate
        self.init_min_weight = init_samples_minimum_weight
        self.preconditioner = preconditioner
        self.energy_params = (precond_data_param, precond_reg_param, precond_proj_param)
        self.cg_options = dict(fletcher_reeves=fletcher_reeves, standard_alpha=standard_alpha,
                               direction_forget_factor=direction_forget_factor)
        self.projection_init, self.filter_init = projection_init, filter_init
        self.generator = generator
        self.projection: torch.Tensor | None = None
        self.filter: torch.Tensor | None = None
        self.memory: SampleMemory | None = None
        self.losses: list[float] = []

    # Labels --------------------------------------------------------------------------------

    def label(self, centre: torch.Tensor, sigma: float) -> torch.Tensor:
        """Gaussian label (1, 1, S, S) of standard deviation ``sigma`` cells peaking at ``centre``
        = (x, y) cells from the middle of the map. A target at the sample's centre has its peak
        half a cell past the middle for an even filter, whose score cell i is centred on feature
        cell i - 1/2."""
        return dcf.label_function_spatial(self.output_sz, sigma, (float(centre[1]), float(centre[0])))

    # Learning ------------------------------------------------------------------------------

    def _energy_preconditioner(self, projected: torch.Tensor, weights: torch.Tensor,
                               features: torch.Tensor | None = None) -> TensorList:
        data, reg, proj = self.energy_params
        # Per-channel energy of the (weighted) projected samples: the data term's diagonal scale.
        energy = (weights.view(-1, 1, 1, 1) * projected ** 2).sum(0).mean((-2, -1)) * self.filter_size ** 2
        diag = [(data * energy + reg * self.filter_reg).view(1, -1, 1, 1).expand_as(self.filter).clone()]
        if features is not None:
            feature_energy = (weights.view(-1, 1, 1, 1) * features ** 2).sum(0).mean((-2, -1))
            diag.append((proj * (feature_energy + self.projection_reg)).view(1, -1, 1, 1)
                        .expand_as(self.projection).clone())
        return TensorList(diag)

    def _initial_projection(self, features: torch.Tensor, dim: int) -> torch.Tensor:
        channels = features.shape[1]
        if self.projection_init == "pca":
            if dim > channels:
                raise ValueError(f"compressed_dim {dim} exceeds the {channels} feature channels: PCA gives at most "
                                 f"{channels} directions; lower compressed_dim or use proj_init_method 'randn'")
            matrix = features.transpose(0, 1).reshape(channels, -1)
            matrix = matrix - matrix.mean(dim=1, keepdim=True)
            directions = torch.linalg.svd(matrix @ matrix.t())[0][:, :dim]
            return directions.t().reshape(dim, channels, 1, 1).contiguous()
        projection = torch.randn(dim, channels, 1, 1, generator=self.generator, dtype=features.dtype)
        return (projection / math.sqrt(channels)).to(features.device)

    def _initial_filter(self, features: torch.Tensor, dim: int) -> torch.Tensor:
        shape = (1, dim, self.filter_size, self.filter_size)
        if self.filter_init == "zeros":
            return features.new_zeros(shape)
        count = dim * self.filter_size ** 2
        return (torch.randn(shape, generator=self.generator, dtype=features.dtype) / count).to(features.device)

    def initialize(self, features: torch.Tensor, labels: torch.Tensor, *, num_gn_iter: int = 6,
                   num_cg_iter: int = 10) -> None:
        """Learn projection and filter from the first frame's samples: features (N, C, H, W),
        labels (N, 1, H, W), all weighted equally; then fill the sample memory."""
        count = features.shape[0]
        dim = self.compressed_dim  # as published, may exceed the channels with a random projection
        self.projection = self._initial_projection(features, dim)
        self.filter = self._initial_filter(features, dim)
        weights = features.new_full((count,), 1.0 / count)
        if self.preconditioner == "energy":
            precond = self._energy_preconditioner(F.conv2d(features, self.projection), weights, features)
        else:
            precond = TensorList([features.new_tensor(self.filter_reg), features.new_tensor(self.projection_reg)])
        problem = _FactorizedConvProblem(features, labels, weights, filter_reg=self.filter_reg,
                                         activation=self.activation, precond=precond,
                                         projection_reg=self.projection_reg)
        # The joint problem runs Fletcher-Reeves, whatever the filter updates use.
        optimizer = GaussNewtonCG(problem, TensorList([self.filter, self.projection]), fletcher_reeves=True,
                                  standard_alpha=True)
        optimizer.run(num_cg_iter, num_gn_iter)
        self.losses.extend(optimizer.losses)
        with torch.no_grad():
            projected = F.conv2d(features, self.projection)
        self.memory = SampleMemory(self.memory_size, projected, labels, init_min_weight=self.init_min_weight)
        self._filter_optimizer = None

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return F.conv2d(features, self.projection)

    def scores(self, projected: torch.Tensor) -> torch.Tensor:
        """(N, D, H, W) projected features -> (N, H, W) scores: the filter's correlation, without
        the response activation (which shapes only the learning), as published."""
        with torch.no_grad():
            return conv2d(projected, self.filter, mode="same")[:, 0]

    def update(self, projected: torch.Tensor, label: torch.Tensor, learning_rate: float | None = None) -> None:
        """Add a projected sample (1, D, H, W) with its label to the memory."""
        self.memory.add(projected, label, self.learning_rate if learning_rate is None else learning_rate)

    def optimize(self, num_cg_iter: int) -> None:
        """``num_cg_iter`` conjugate-gradient steps on the filter over the sample memory."""
        if num_cg_iter <= 0:
            return
        samples, labels, weights = self.memory.active()
        precond = self._energy_preconditioner(samples, weights) if self.preconditioner == "energy" else None
        problem = _ConvProblem(samples, labels, weights, filter_reg=self.filter_reg, activation=self.activation,
                               precond=precond)
        if self._filter_optimizer is None:
            self._filter_optimizer = ConjugateGradient(problem, TensorList([self.filter]), **self.cg_options)
        self._filter_optimizer.problem = problem
        self._filter_optimizer.run(num_cg_iter)
