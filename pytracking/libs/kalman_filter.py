"""The one constant-velocity Kalman filter of the MOT trackers, batched over tracks.

The state is the measurement ``z`` (``ndim`` values, a box in some layout) followed by the
velocities of the measured values listed in ``velocity_of``; the motion model adds each velocity
to its value once per frame, and the measurement is the first ``ndim`` values of the state.
What differs between trackers is the noise, given by a :class:`NoiseModel`:

- :func:`sort_kalman_filter`: SORT's 7-state ``[u, v, s, r, du, dv, ds]`` (the aspect ratio has
  no velocity) with fixed covariances, as set up in SORT's ``KalmanBoxTracker`` on filterpy's
  identity defaults;
- :func:`bytetrack_kalman_filter`: ByteTrack's (DeepSORT's) 8-state ``[cx, cy, a, h, ...]`` with
  standard deviations proportional to the box height (weights 1/20 and 1/160).

Every method takes and returns batches: means ``(N, D)`` and covariances ``(N, D, D)``; every
operation is row by row, so a batch's row is that row's batch of one, bit for bit. A diagonal
noise (both models') is added as its diagonal (bit for bit the sum with the whole matrix, tested).
A projection made once may serve several steps: :meth:`KalmanFilter.update_projected` and
:meth:`KalmanFilter.gating_distance_of_pairs` (FairMOT's gate and corrections share one).

:meth:`KalmanFilter.gating_distance` is DeepSORT's squared Mahalanobis distance between the
predicted measurements and given ones (FairMOT's ``fuse_motion`` gates with it at
``CHI2INV95[4]``).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import numpy as np

# The 0.95 quantile of the chi-square distribution by degrees of freedom (DeepSORT's table, from
# MATLAB's chi2inv): the gate of a squared Mahalanobis distance over that many measured values.
CHI2INV95 = {1: 3.8415, 2: 5.9915, 3: 7.8147, 4: 9.4877, 5: 11.070, 6: 12.592, 7: 14.067, 8: 15.507, 9: 16.919}


class NoiseModel(abc.ABC):
    """The covariances a filter needs; each may depend on the state (batched)."""

    @abc.abstractmethod
    def initial_covariance(self, measurement: np.ndarray) -> np.ndarray:
        """(N, ndim) first measurements -> (N, D, D) covariance of the new states."""

    @abc.abstractmethod
    def process_covariance(self, mean: np.ndarray) -> np.ndarray:
        """(N, D) states before prediction -> (N, D, D) motion noise Q."""

    @abc.abstractmethod
    def measurement_covariance(self, mean: np.ndarray) -> np.ndarray:
        """(N, D) predicted states -> (N, ndim, ndim) measurement noise R."""

    def process_variances(self, mean: np.ndarray) -> np.ndarray | None:
        """The diagonal of :meth:`process_covariance`, (N, D) or (D,), where Q is diagonal (the
        very values its diagonal holds, the rest being +0), else None."""
        return None

    def measurement_variances(self, mean: np.ndarray) -> np.ndarray | None:
        """The diagonal of :meth:`measurement_covariance`, (N, ndim) or (ndim,), where R is
        diagonal (as :meth:`process_variances`), else None."""
        return None


def _batched(matrix: np.ndarray, count: int) -> np.ndarray:
    return np.broadcast_to(matrix, (count, *matrix.shape)).copy()


class FixedNoise(NoiseModel):
    """Covariances that do not depend on the state: the diagonals of P0, Q and R."""

    def __init__(self, initial: Sequence[float], process: Sequence[float], measurement: Sequence[float]):
        self.initial = np.diag(np.asarray(initial, dtype=np.float64))
        self.process = np.diag(np.asarray(process, dtype=np.float64))
        self.measurement = np.diag(np.asarray(measurement, dtype=np.float64))
        self._process_variances = np.diagonal(self.process).copy()
        self._measurement_variances = np.diagonal(self.measurement).copy()

    def initial_covariance(self, measurement: np.ndarray) -> np.ndarray:
        return _batched(self.initial, len(measurement))

    def process_covariance(self, mean: np.ndarray) -> np.ndarray:
        return _batched(self.process, len(mean))

    def measurement_covariance(self, mean: np.ndarray) -> np.ndarray:
        return _batched(self.measurement, len(mean))

    def process_variances(self, mean: np.ndarray) -> np.ndarray:
        return self._process_variances

    def measurement_variances(self, mean: np.ndarray) -> np.ndarray:
        return self._measurement_variances


class HeightScaledNoise(NoiseModel):
    """DeepSORT's noise for the state ``[cx, cy, a, h, vcx, vcy, va, vh]``: standard deviations
    of position and height proportional to the height ``h`` (``position_weight``, and
    ``velocity_weight`` for their velocities), the aspect ratio's fixed (1e-2 and 1e-5 in the
    motion, 1e-1 in the measurement); at initialisation twice the position and ten times the
    velocity deviation."""

    def __init__(self, position_weight: float = 1.0 / 20, velocity_weight: float = 1.0 / 160):
        self.position_weight = position_weight
        self.velocity_weight = velocity_weight
        p, v = position_weight, velocity_weight
        # Each noise as (weights, fixed): a standard deviation weight * h per value, or a fixed one
        # (the aspect ratio's and its velocity's); the weights are the products ``2 * p`` ... in
        # the order DeepSORT forms them.
        self._initial = (np.array([2 * p, 2 * p, 0.0, 2 * p, 10 * v, 10 * v, 0.0, 10 * v]), {2: 1e-2, 6: 1e-5})
        self._process = (np.array([p, p, 0.0, p, v, v, 0.0, v]), {2: 1e-2, 6: 1e-5})
        self._measurement = (np.array([p, p, 0.0, p]), {2: 1e-1})

    @staticmethod
    def _variances(h: np.ndarray, weights: np.ndarray, fixed: dict[int, float]) -> np.ndarray:
        """(N, D) variances: ``(weight * h)^2``, and the fixed deviations squared, in the type
        that ``weight * h`` has (float32 heights give float32 products, as DeepSORT's)."""
        dtype = np.result_type(h, 1.0)
        variances = np.square(h[:, None] * weights.astype(dtype))
        for column, deviation in fixed.items():
            variances[:, column] = np.square(dtype.type(deviation))
        return variances

    @staticmethod
    def _diagonal(variances: np.ndarray) -> np.ndarray:
        return variances[:, :, None] * np.eye(variances.shape[-1])

    def initial_covariance(self, measurement: np.ndarray) -> np.ndarray:
        return self._diagonal(self._variances(measurement[:, 3], *self._initial))

    def process_covariance(self, mean: np.ndarray) -> np.ndarray:
        return self._diagonal(self.process_variances(mean))

    def measurement_covariance(self, mean: np.ndarray) -> np.ndarray:
        return self._diagonal(self.measurement_variances(mean))

    def process_variances(self, mean: np.ndarray) -> np.ndarray:
        return self._variances(mean[:, 3], *self._process)

    def measurement_variances(self, mean: np.ndarray) -> np.ndarray:
        return self._variances(mean[:, 3], *self._measurement)


def _add_diagonal_noise(covariance: np.ndarray, variances: np.ndarray | None) -> bool:
    """``covariance + noise`` in place for a diagonal noise given by its finite ``variances``:
    adding +0 everywhere (which only turns -0.0 into +0.0, as adding the noise's zeros does) and
    the variances on the diagonal: bit for bit the sum with the whole matrix. False (nothing done)
    when there are no variances or they are not all finite (an infinite variance times the
    matrix's zeros spreads NaN, which the whole sum must then show)."""
    if variances is None or not covariance.flags.c_contiguous or not np.isfinite(variances).all():
        return False
    covariance += 0.0
    size = covariance.shape[-1]
    covariance.reshape(len(covariance), size * size)[:, ::size + 1] += variances
    return True


def _as_slice(indices: Sequence[int]) -> slice | np.ndarray:
    """Consecutive ascending indices as a slice (a view, no copy: the same elements, read faster),
    others as an index array."""
    indices = list(indices)
    if indices and indices == list(range(indices[0], indices[0] + len(indices))):
        return slice(indices[0], indices[0] + len(indices))
    return np.array(indices, dtype=np.int64)


class KalmanFilter:
    """Constant-velocity Kalman filter over ``ndim`` measured values, of which those in
    ``velocity_of`` carry a velocity (state size ``ndim + len(velocity_of)``)."""

    def __init__(self, ndim: int, velocity_of: Sequence[int], noise: NoiseModel):
        self.ndim = ndim
        self.velocity_of = tuple(velocity_of)
        self.dim = ndim + len(self.velocity_of)
        self.noise = noise
        self.motion = np.eye(self.dim)
        for k, index in enumerate(self.velocity_of):
            self.motion[index, ndim + k] = 1.0
        self.observation = np.eye(ndim, self.dim)
        self._moved = _as_slice(self.velocity_of)
        self._velocities = _as_slice(range(ndim, self.dim))

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, ndim) measurements -> new states (N, D) with zero velocities, and (N, D, D)."""
        measurement = np.asarray(measurement, dtype=np.float64).reshape(-1, self.ndim)
        mean = np.concatenate([measurement, np.zeros((len(measurement), self.dim - self.ndim))], axis=1)
        return mean, self.noise.initial_covariance(measurement)

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One frame ahead: ``x = F x``, ``P = F P F' + Q`` (Q from the state before the step)."""
        # F is the identity plus ones linking each moved value to its velocity, so ``x F'`` and
        # ``(F P) F'`` are single additions; done as such they are the matrix products' exact
        # values (each sum has one non-zero term besides the value itself), without the products.
        moved, velocities = self._moved, self._velocities
        new_mean = np.array(mean, dtype=np.float64)
        new_mean[:, moved] += mean[:, velocities]
        left = np.array(covariance, dtype=np.float64)  # F P: rows
        left[:, moved, :] += covariance[:, velocities, :]
        new_covariance = left.copy()  # (F P) F': columns
        new_covariance[:, :, moved] += left[:, :, velocities]
        # Q is taken before the step (from ``mean``); a diagonal Q is added as its diagonal.
        if not _add_diagonal_noise(new_covariance, self.noise.process_variances(mean)):
            new_covariance = new_covariance + self.noise.process_covariance(mean)
        return new_mean, new_covariance

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The predicted measurement ``H x`` and its covariance ``H P H' + R``."""
        # H = [I 0]: H P H' and H x are the leading block and values (the products' exact values).
        projected = covariance[:, :self.ndim, :self.ndim]
        innovation_cov = np.array(projected, dtype=np.float64)
        if not _add_diagonal_noise(innovation_cov, self.noise.measurement_variances(mean)):
            innovation_cov = projected + self.noise.measurement_covariance(mean)
        return mean[:, :self.ndim], innovation_cov

    def update(self, mean: np.ndarray, covariance: np.ndarray,
               measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct the states with (N, ndim) measurements: ``K = P H' S^-1``, ``x + K (z - H x)``,
        ``P - K S K'``."""
        measurement = np.asarray(measurement, dtype=np.float64).reshape(-1, self.ndim)
        projected_mean, innovation_cov = self.project(mean, covariance)
        return self.update_projected(mean, covariance, measurement, projected_mean, innovation_cov)

    def update_projected(self, mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray,
                         projected_mean: np.ndarray, innovation_cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`update` with the states' projection (:meth:`project`) already at hand, e.g. the
        rows of one made for a gate before: the very same operations after it, so the same numbers
        (the projection is computed state by state, so its rows are those of the rows' projection).
        ``measurement``: (N, ndim) float64."""
        cross = covariance[:, :, :self.ndim]  # P H', (N, D, ndim)
        # S is symmetric, so K' = S^-1 (P H')'.
        gain = np.linalg.solve(innovation_cov, cross.swapaxes(1, 2)).swapaxes(1, 2)
        innovation = measurement - projected_mean
        new_mean = mean + np.einsum("nij,nj->ni", gain, innovation)
        new_covariance = covariance - gain @ innovation_cov @ gain.swapaxes(1, 2)
        return new_mean, new_covariance

    def gating_distance(self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray,
                        only_position: bool = False) -> np.ndarray:
        """Squared Mahalanobis distance of every measurement from every state's projected
        measurement (DeepSORT's ``gating_distance``, metric ``maha``): with ``S = H P H' + R``
        and ``d = z - H x``, ``d' S^-1 d``, computed as ``|L^-1 d|^2`` with ``S = L L'``
        (Cholesky). ``only_position``: the first two measured values only (the centre).

        (N, D) means, (N, D, D) covariances, (M, ndim) measurements -> (N, M); compare with
        ``CHI2INV95[2 if only_position else ndim]``."""
        measurements = np.asarray(measurements, dtype=np.float64).reshape(-1, self.ndim)
        projected_mean, projected_cov = self.project(mean, covariance)
        if only_position:
            projected_mean, projected_cov = projected_mean[:, :2], projected_cov[:, :2, :2]
            measurements = measurements[:, :2]
        if len(projected_mean) == 0 or len(measurements) == 0:
            return np.zeros((len(projected_mean), len(measurements)))
        cholesky = np.linalg.cholesky(projected_cov)  # (N, k, k)
        differences = [measurements[None, :, i] - projected_mean[:, i, None] for i in range(projected_mean.shape[1])]
        return _squared_norm_after_forward_substitution(differences, np.moveaxis(cholesky, 0, -1)[..., None])

    def gating_distance_at(self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray,
                           rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """:meth:`gating_distance` (all measured values) at the pairs ``(rows[p], cols[p])`` of
        states and measurements only: (P,), each the very value the whole matrix holds there (the
        same operations on the same numbers, element by element)."""
        measurements = np.asarray(measurements, dtype=np.float64).reshape(-1, self.ndim)
        projected_mean, projected_cov = self.project(mean, covariance)
        if len(rows) == 0:
            return np.zeros(0)
        return self.gating_distance_of_pairs(projected_mean, np.linalg.cholesky(projected_cov), measurements, rows, cols)

    @staticmethod
    def gating_distance_of_pairs(projected_mean: np.ndarray, cholesky: np.ndarray, measurements: np.ndarray,
                                 rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """:meth:`gating_distance_at` from the states' projected measurements (N, ndim) and the
        Cholesky factors (N, ndim, ndim) of their covariances (``np.linalg.cholesky`` of
        :meth:`project`'s), made once for several uses: the same operations after them.
        ``measurements``: (M, ndim) float64. Returns (P,)."""
        if len(rows) == 0:
            return np.zeros(0)
        # Gathered once per pair; the columns are the values' differences.
        differences = measurements[cols] - projected_mean[rows]
        return _squared_norm_after_forward_substitution(list(differences.T), cholesky[rows].transpose(1, 2, 0))


def _squared_norm_after_forward_substitution(differences: list[np.ndarray], lower: np.ndarray) -> np.ndarray:
    """``|L^-1 d|^2`` for the k values ``differences`` (arrays of one shape) and the lower
    triangular ``lower`` (k, k, ...) broadcasting against them: ``z_i = (d_i - sum_j<i L_ij z_j)
    / L_ii`` in the order of LAPACK's triangular solve (scipy's solve_triangular, which DeepSORT
    uses), then the squares summed in order."""
    z: list[np.ndarray] = []
    squared = np.zeros(np.broadcast_shapes(differences[0].shape, lower[0, 0].shape))
    for i, value in enumerate(differences):
        for j in range(i):
            value = value - z[j] * lower[i, j]
        z.append(value / lower[i, i])
        squared = squared + z[i] * z[i]
    return squared


def sort_kalman_filter() -> KalmanFilter:
    """SORT's filter on ``[u, v, s, r]`` (centre, area, aspect ratio): filterpy's identity
    matrices changed as in SORT's ``KalmanBoxTracker``: R[2:, 2:] *= 10; P[4:, 4:] *= 1000 then
    P *= 10; Q[-1, -1] *= 0.01 then Q[4:, 4:] *= 0.01."""
    return KalmanFilter(4, (0, 1, 2), FixedNoise(initial=[10, 10, 10, 10, 1e4, 1e4, 1e4],
                                                 process=[1, 1, 1, 1, 1e-2, 1e-2, 1e-4],
                                                 measurement=[1, 1, 10, 10]))


def bytetrack_kalman_filter(position_weight: float = 1.0 / 20, velocity_weight: float = 1.0 / 160) -> KalmanFilter:
    """ByteTrack's filter on ``[cx, cy, a, h]`` with the height-scaled noise."""
    return KalmanFilter(4, (0, 1, 2, 3), HeightScaledNoise(position_weight, velocity_weight))
