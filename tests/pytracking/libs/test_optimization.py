"""Optimisers over TensorLists: CG and Gauss-Newton reach closed-form least-squares solutions
and fit non-linear models to noiseless data; gradient descent and Newton-CG minimise convex
objectives."""

import math

import pytest
import torch
import torch.nn.functional as F

from pytracking.libs import operation
from pytracking.libs.optimization import (ConjugateGradient, GaussNewtonCG, GradientDescent, GradientDescentL2,
                                          L2Problem, MinimizationProblem, NewtonCG)
from pytracking.libs.tensorlist import TensorList

DTYPE = torch.float64


class LinearProblem(L2Problem):
    """Residuals [w1 * (A1 x1 + B1 vec(x2) - b1), w2 * (A2 x1 - b2), sqrt(reg) * x2]: a random
    linear least-squares problem over a TensorList of two parts."""

    def __init__(self, seed: int = 0, preconditioned: bool = False):
        g = torch.Generator().manual_seed(seed)
        self.A1 = torch.randn(12, 3, generator=g, dtype=DTYPE)
        self.B1 = torch.randn(12, 4, generator=g, dtype=DTYPE) * 5  # badly scaled part
        self.b1 = torch.randn(12, generator=g, dtype=DTYPE)
        self.A2 = torch.randn(5, 3, generator=g, dtype=DTYPE)
        self.b2 = torch.randn(5, generator=g, dtype=DTYPE)
        self.w1, self.w2, self.reg = 2.0, 0.5, 0.1
        self.preconditioned = preconditioned

    def __call__(self, x):
        x1, x2 = x
        return TensorList([self.w1 * (self.A1 @ x1 + self.B1 @ x2.reshape(-1) - self.b1),
                           self.w2 * (self.A2 @ x1 - self.b2), math.sqrt(self.reg) * x2])

    def matrix(self):
        """The same problem as one matrix M and vector y: minimise |M [x1; vec(x2)] - y|^2."""
        top = torch.cat([self.w1 * self.A1, self.w1 * self.B1], 1)
        middle = torch.cat([self.w2 * self.A2, torch.zeros(5, 4, dtype=DTYPE)], 1)
        bottom = torch.cat([torch.zeros(4, 3, dtype=DTYPE), math.sqrt(self.reg) * torch.eye(4, dtype=DTYPE)], 1)
        y = torch.cat([self.w1 * self.b1, self.w2 * self.b2, torch.zeros(4, dtype=DTYPE)])
        return torch.cat([top, middle, bottom]), y

    def M1(self, x):
        if not self.preconditioned:
            return x
        # Jacobi preconditioner: the inverse diagonal of J^T J.
        M, _ = self.matrix()
        diagonal = (M ** 2).sum(0)
        return TensorList([x[0] / diagonal[:3], x[1] / diagonal[3:].reshape(2, 2)])


def closed_form(problem):
    M, y = problem.matrix()
    return torch.linalg.lstsq(M, y.unsqueeze(1)).solution.squeeze(1)


def start(seed=1):
    g = torch.Generator().manual_seed(seed)
    return TensorList([torch.randn(3, generator=g, dtype=DTYPE), torch.randn(2, 2, generator=g, dtype=DTYPE)])


def flat(x):
    return torch.cat([t.reshape(-1) for t in x])


@pytest.mark.parametrize("fletcher_reeves", [True, False])
@pytest.mark.parametrize("standard_alpha", [True, False])
@pytest.mark.parametrize("preconditioned", [False, True])
def test_cg_reaches_lstsq_solution(fletcher_reeves, standard_alpha, preconditioned):
    problem = LinearProblem(preconditioned=preconditioned)
    x = start()
    tensors = list(x)
    optimizer = ConjugateGradient(problem, x, fletcher_reeves=fletcher_reeves, standard_alpha=standard_alpha,
                                  debug=True)
    optimizer.run(14)
    torch.testing.assert_close(flat(x), closed_form(problem), atol=1e-8, rtol=1e-8)
    # Updated in place: the caller's tensors hold the solution, and need no gradient.
    assert all(a is b for a, b in zip(x, tensors)) and not any(t.requires_grad for t in x)
    assert optimizer.losses[-1] < optimizer.losses[0]
    M, y = problem.matrix()
    assert optimizer.losses[-1] == pytest.approx(((M @ flat(x) - y) ** 2).sum().item())


def test_preconditioning_speeds_up_a_badly_scaled_problem():
    errors = {}
    for preconditioned in (False, True):
        problem = LinearProblem(preconditioned=preconditioned)
        x = start()
        ConjugateGradient(problem, x).run(4)
        errors[preconditioned] = (flat(x) - closed_form(problem)).norm().item()
    assert errors[True] < errors[False]


def test_cg_eps_stops_early_and_records_residuals():
    problem = LinearProblem()
    optimizer = ConjugateGradient(problem, start(), cg_eps=1e-3)
    optimizer.run(50)
    norms = optimizer.residuals
    assert 2 < len(norms) < 50
    assert norms[-1] <= 1e-3 * norms[0] and all(n > 1e-3 * norms[0] for n in norms[:-1])


def test_direction_forget_factor_carries_the_search_direction_over_calls():
    problem = LinearProblem()
    errors = {}
    for factor in (0.0, 0.9, 1.0):
        x = start()
        optimizer = ConjugateGradient(problem, x, direction_forget_factor=factor)
        for _ in range(8):
            optimizer.run(3)
        errors[factor] = (flat(x) - closed_form(problem)).norm().item()
    # Factor 1 on an unchanged problem continues one CG run: exact after the 7 unknowns.
    assert errors[1.0] < 1e-10
    assert errors[1.0] < errors[0.9] < errors[0.0]


class ExponentialFit(L2Problem):
    def __init__(self):
        self.t = torch.linspace(0, 2, 20, dtype=DTYPE)
        self.y = 2.0 * torch.exp(-0.7 * self.t)

    def __call__(self, x):
        a, b = x
        return TensorList([a * torch.exp(b * self.t) - self.y])


@pytest.mark.parametrize("fletcher_reeves", [True, False])
def test_gauss_newton_fits_an_exponential(fletcher_reeves):
    x = TensorList([torch.tensor(1.0, dtype=DTYPE), torch.tensor(0.0, dtype=DTYPE)])
    optimizer = GaussNewtonCG(ExponentialFit(), x, fletcher_reeves=fletcher_reeves, debug=True)
    optimizer.run(num_cg_iter=2, num_gn_iter=10)
    assert x[0].item() == pytest.approx(2.0, abs=1e-8) and x[1].item() == pytest.approx(-0.7, abs=1e-8)
    assert len(optimizer.losses) == 11 and optimizer.losses[-1] < 1e-20


class FactorizedConv(L2Problem):
    """The online classifier's shape: residual = conv(conv1x1(features, P), f) - y, with f a
    4 x 4 filter (padding 2) on projected features."""

    def __init__(self, features, labels):
        self.features, self.labels = features, labels

    def __call__(self, x):
        filter_, projection = x
        scores = operation.conv2d(operation.conv1x1(self.features, projection), filter_, padding=2)
        return TensorList([scores - self.labels])


def test_gauss_newton_recovers_a_factorised_filter():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(6, 8, 9, 9, generator=g, dtype=DTYPE)
    true_projection = torch.randn(3, 8, generator=g, dtype=DTYPE)
    true_filter = torch.randn(1, 3, 4, 4, generator=g, dtype=DTYPE)
    labels = F.conv2d(F.conv2d(features, true_projection.reshape(3, 8, 1, 1)), true_filter, padding=2)
    assert labels.shape == (6, 1, 10, 10)
    x = TensorList([true_filter + 0.3 * torch.randn(1, 3, 4, 4, generator=g, dtype=DTYPE),
                    true_projection + 0.3 * torch.randn(3, 8, generator=g, dtype=DTYPE)])
    problem = FactorizedConv(features, labels)
    optimizer = GaussNewtonCG(problem, x, debug=True)
    optimizer.run(num_cg_iter=15, num_gn_iter=6)
    assert optimizer.losses[-1] < 1e-12 * optimizer.losses[0]
    assert problem(x)[0].abs().max().item() < 1e-6


class Quadratic(MinimizationProblem):
    """0.5 x^T Q x - c^T x over two parts, Q positive definite (eigenvalues 1..4)."""

    def __init__(self):
        g = torch.Generator().manual_seed(3)
        basis, _ = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=DTYPE))
        self.Q = basis @ torch.diag(torch.linspace(1, 4, 5, dtype=DTYPE)) @ basis.T
        self.c = torch.randn(5, generator=g, dtype=DTYPE)

    def __call__(self, x):
        v = torch.cat([x[0], x[1].reshape(-1)])
        return 0.5 * v @ self.Q @ v - self.c @ v

    def solution(self):
        return torch.linalg.solve(self.Q, self.c)


def two_parts():
    return TensorList([torch.zeros(1, dtype=DTYPE), torch.zeros(2, 2, dtype=DTYPE)])


def test_gradient_descent_with_momentum_decreases_monotonically():
    problem = Quadratic()
    x = two_parts()
    optimizer = GradientDescent(problem, x, step_length=0.05, momentum=0.3, debug=True)
    optimizer.run(100)
    optimizer.run(100)  # the momentum direction persists across calls
    losses = optimizer.losses
    assert all(b < a for a, b in zip(losses[:100], losses[1:101]))
    assert all(b < a for a, b in zip(losses[101:], losses[102:]))
    torch.testing.assert_close(flat(x), problem.solution(), atol=1e-5, rtol=0)


def test_gradient_descent_l2_approaches_lstsq():
    problem = LinearProblem()
    x = start()
    M, _ = problem.matrix()
    step = 0.9 / (2 * torch.linalg.matrix_norm(M, 2).item() ** 2)
    optimizer = GradientDescentL2(problem, x, step_length=step, momentum=0.5, debug=True)
    optimizer.run(3000)
    assert optimizer.losses[-1] < optimizer.losses[0]
    torch.testing.assert_close(flat(x), closed_form(problem), atol=1e-4, rtol=0)


class LogCosh(MinimizationProblem):
    """sum log(cosh(x - c)): convex, minimum at c, not quadratic (Newton converges from
    within about 1 of c)."""

    def __init__(self):
        self.c = TensorList([torch.tensor([0.5, -0.8], dtype=DTYPE), torch.tensor([[0.9]], dtype=DTYPE)])

    def __call__(self, x):
        return sum(torch.log(torch.cosh(a - b)).sum() for a, b in zip(x, self.c))


def test_newton_cg_minimises_a_smooth_convex_function():
    problem = LogCosh()
    x = TensorList([torch.zeros(2, dtype=DTYPE), torch.zeros(1, 1, dtype=DTYPE)])
    optimizer = NewtonCG(problem, x, debug=True)
    optimizer.run(num_cg_iter=3, num_newton_iter=6)
    torch.testing.assert_close(flat(x), flat(problem.c), atol=1e-9, rtol=0)


def test_variables_must_be_leaf_tensors():
    with pytest.raises(ValueError, match="leaf tensor"):
        ConjugateGradient(LinearProblem(), TensorList([torch.ones(3, requires_grad=True) * 2, torch.ones(2, 2)]))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gauss_newton_on_cuda():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(6, 8, 9, 9, generator=g, dtype=DTYPE)
    projection = torch.randn(3, 8, generator=g, dtype=DTYPE)
    filter_ = torch.randn(1, 3, 4, 4, generator=g, dtype=DTYPE)
    labels = F.conv2d(F.conv2d(features, projection.reshape(3, 8, 1, 1)), filter_, padding=2)
    x = TensorList([filter_ + 0.3 * torch.randn(1, 3, 4, 4, generator=g, dtype=DTYPE),
                    projection + 0.3 * torch.randn(3, 8, generator=g, dtype=DTYPE)]).cuda()
    problem = FactorizedConv(features.cuda(), labels.cuda())
    optimizer = GaussNewtonCG(problem, x, fletcher_reeves=False, direction_forget_factor=0.5, debug=True)
    optimizer.run(num_cg_iter=15, num_gn_iter=6)
    assert x[0].device.type == "cuda" and optimizer.losses[-1] < 1e-12 * optimizer.losses[0]
