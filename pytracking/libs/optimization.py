"""Minimisation over TensorList variables, for the trackers' online classifiers.

An :class:`L2Problem` gives residuals r(x) (a TensorList) and the optimisers minimise
``ip_output(r, r)``. :class:`ConjugateGradient` solves problems linear in x (the normal
equations J^T J dx = -J^T r(x0)); :class:`GaussNewtonCG` relinearises non-linear ones at each
Gauss-Newton iteration. Products with J^T J come from double back-propagation: with g a dummy
vector in place of the residuals, u(g) = J^T g = grad(r, x, g, create_graph=True) is linear in g,
so J p = grad(u, g, p) and J^T J p = grad(r, x, J p); no Jacobian is ever formed.

The variable is updated in place (``x[i].add_(...)``), so a tracker holding its tensors sees the
new values. Histories (``losses``, ``residuals``, ``gradient_norms``) are recorded with ``debug``.
"""

from __future__ import annotations

from typing import Sequence

import torch

from pytracking.libs.tensorlist import TensorList


class _Problem:
    """Inner product and preconditioner of the variable space (defaults: dot, identity)."""

    def ip_input(self, a: TensorList, b: TensorList) -> torch.Tensor:
        """Inner product of two variables (the one CG works in); scalar."""
        return a.dot(b)

    def M1(self, x: TensorList) -> TensorList:
        """First preconditioner factor: CG uses z = M2(M1(r))."""
        return x

    def M2(self, x: TensorList) -> TensorList:
        """Second preconditioner factor."""
        return x


class L2Problem(_Problem):
    """Least squares: minimise ip_output(r(x), r(x)) for residuals r(x)."""

    def __call__(self, x: TensorList) -> TensorList:
        """The residuals at x."""
        raise NotImplementedError

    def ip_output(self, a: TensorList, b: TensorList) -> torch.Tensor:
        """Inner product of two residuals: the loss is ip_output(r, r); scalar."""
        return a.dot(b)


class MinimizationProblem(_Problem):
    """A scalar objective f(x), for gradient descent and Newton-CG."""

    def __call__(self, x: TensorList) -> torch.Tensor:
        raise NotImplementedError


def _as_variable(variable) -> TensorList:
    variable = variable if isinstance(variable, TensorList) else TensorList([variable])
    for index, tensor in enumerate(variable):
        if not torch.is_tensor(tensor) or tensor.grad_fn is not None:
            raise ValueError(f"variable element {index} must be a leaf tensor (detached, e.g. x.detach().clone()) "
                             f"that the optimiser updates in place")
    return variable


def _grad(outputs: Sequence[torch.Tensor], inputs: Sequence[torch.Tensor], grad_outputs: Sequence[torch.Tensor],
          create_graph: bool = False) -> TensorList:
    """autograd.grad that tolerates outputs not depending on the inputs (their terms are zero)
    and keeps the graph for the next product."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        return TensorList(torch.zeros_like(i) for i in inputs)
    grads = torch.autograd.grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs],
                                retain_graph=True, create_graph=create_graph, allow_unused=True)
    return TensorList(torch.zeros_like(i) if d is None else d for d, i in zip(grads, inputs))


def _scalar(value) -> torch.Tensor:
    """An inner product that a problem may return per part (TensorList) -> its sum."""
    return value.sum() if isinstance(value, TensorList) else value


def _add_(x: TensorList, step: TensorList) -> None:
    with torch.no_grad():
        for tensor, delta in zip(x, step):
            tensor.add_(delta)


class ConjugateGradientBase:
    """Preconditioned conjugate gradient on A dx = b; subclasses set ``b`` and define ``A``,
    ``ip`` and the preconditioner ``M1``/``M2`` (z = M2(M1(r))).

    ``fletcher_reeves``: beta = rho / rho_prev, else Polak-Ribiere (clamped at 0).
    ``standard_alpha``: alpha = rho / <p, Ap>, else <p, r> / <p, Ap> (the exact minimiser along
    p, safer when p was carried over). ``direction_forget_factor``: 0 restarts CG at each call;
    otherwise the last search direction is kept and its weight scaled by the factor at the next
    call (warm start across tracker updates)."""

    def __init__(self, fletcher_reeves: bool = True, standard_alpha: bool = True,
                 direction_forget_factor: float = 0.0, debug: bool = False):
        self.fletcher_reeves = fletcher_reeves
        self.standard_alpha = standard_alpha
        self.direction_forget_factor = direction_forget_factor
        self.debug = debug
        self.b: TensorList | None = None
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the stored search direction."""
        self.p = None
        self.rho = 1.0
        self.r_prev = None

    def A(self, x: TensorList) -> TensorList:
        raise NotImplementedError

    def ip(self, a: TensorList, b: TensorList) -> torch.Tensor:
        return a.dot(b)

    def M1(self, x: TensorList) -> TensorList:
        return x

    def M2(self, x: TensorList) -> TensorList:
        return x

    def residual_norm(self, r: TensorList) -> torch.Tensor:
        return self.ip(r, r).sqrt()

    def run_cg(self, num_iter: int, x: TensorList | None = None, eps: float = 0.0
               ) -> tuple[TensorList, list[float]]:
        """At most ``num_iter`` CG iterations from ``x`` (zero when None); stops when the residual
        norm falls to ``eps`` times the initial one. Returns the solution and, when ``debug`` or
        ``eps``, the residual norms (initial one first)."""
        if self.direction_forget_factor == 0:
            self.reset_state()
        elif self.p is not None:
            # A larger old rho shrinks the next beta, hence the old direction's weight.
            self.rho = self.rho / self.direction_forget_factor
        r = self.b.clone() if x is None else self.b - self.A(x)
        record = self.debug or eps > 0
        norms = [self.residual_norm(r).item()] if record else []
        for iteration in range(num_iter):
            z = self.M2(self.M1(r))
            rho_prev = self.rho
            self.rho = self.ip(r, z)
            if self.rho.abs().item() == 0 or not torch.isfinite(self.rho):
                break
            if self.p is None:
                self.p = z.clone()
            else:
                if self.fletcher_reeves or self.r_prev is None:
                    beta = self.rho / rho_prev
                else:
                    beta = (self.rho - self.ip(self.r_prev, z)) / rho_prev
                self.p = z + self.p * beta.clamp(min=0)
            q = self.A(self.p)
            pq = self.ip(self.p, q)
            if not pq.item() > 0:  # A is not positive along p (or p vanished): nothing to gain
                break
            alpha = self.rho / pq if self.standard_alpha else self.ip(self.p, r) / pq
            if not self.fletcher_reeves:
                self.r_prev = r.clone()
            x = self.p * alpha if x is None else x + self.p * alpha
            if iteration < num_iter - 1 or record:
                r = r - q * alpha
            if record:
                norms.append(self.residual_norm(r).item())
                if eps > 0 and norms[-1] <= eps * norms[0]:
                    break
        if x is None:
            x = self.b * 0
        return x, norms


class _ProblemCG(ConjugateGradientBase):
    """CG whose inner product and preconditioner are the problem's."""

    def __init__(self, problem, variable, *, cg_eps: float = 0.0, fletcher_reeves: bool = True,
                 standard_alpha: bool = True, direction_forget_factor: float = 0.0, debug: bool = False):
        super().__init__(fletcher_reeves, standard_alpha, direction_forget_factor, debug)
        self.problem = problem
        self.x = _as_variable(variable)
        self.cg_eps = cg_eps
        self.losses: list[float] = []
        self.residuals: list[float] = []

    def ip(self, a: TensorList, b: TensorList) -> torch.Tensor:
        return _scalar(self.problem.ip_input(a, b))

    def M1(self, x: TensorList) -> TensorList:
        return self.problem.M1(x)

    def M2(self, x: TensorList) -> TensorList:
        return self.problem.M2(x)


class _L2CGOptimizer(_ProblemCG):
    """CG on the Gauss-Newton normal equations of an :class:`L2Problem` at the current x."""

    _f0 = _g = _jtg = None

    def loss(self) -> float:
        """ip_output(r, r) at the current x."""
        with torch.no_grad():
            f = self.problem(self.x)
            return float(_scalar(self.problem.ip_output(f, f)))

    def _linearise(self) -> None:
        self.x.requires_grad_(True)
        self._f0 = TensorList(self.problem(self.x))
        self._g = self._f0.detach().requires_grad_(True)
        self._jtg = _grad(self._f0, self.x, self._g, create_graph=True)
        self.b = -self._jtg.detach()
        if self.debug:
            f = self._f0.detach()
            self.losses.append(float(_scalar(self.problem.ip_output(f, f))))

    def A(self, p: TensorList) -> TensorList:
        jp = _grad(self._jtg, self._g, p)
        return _grad(self._f0, self.x, jp)

    def _step(self, num_cg_iter: int) -> None:
        self._linearise()
        try:
            delta, norms = self.run_cg(num_cg_iter, eps=self.cg_eps)
        finally:
            self.x.requires_grad_(False)
            self._f0 = self._g = self._jtg = None
        self.residuals.extend(norms)
        _add_(self.x, delta.detach())


class ConjugateGradient(_L2CGOptimizer):
    """Least squares linear in x (r(x) = J x - y): ``run(num_cg_iter)`` takes CG iterations on
    J^T J dx = -J^T r(x) and adds dx to x."""

    def run(self, num_cg_iter: int) -> TensorList:
        if num_cg_iter > 0:
            self._step(num_cg_iter)
            if self.debug:
                self.losses.append(self.loss())
        return self.x


class GaussNewtonCG(_L2CGOptimizer):
    """Non-linear least squares: ``run(num_cg_iter, num_gn_iter)`` relinearises at x
    ``num_gn_iter`` times, each followed by ``num_cg_iter`` CG iterations on the normal
    equations. ``losses`` holds the loss at each linearisation point and the final one."""

    def run(self, num_cg_iter: int, num_gn_iter: int = 1) -> TensorList:
        if num_cg_iter > 0:
            for _ in range(num_gn_iter):
                self._step(num_cg_iter)
            if self.debug:
                self.losses.append(self.loss())
        return self.x


class NewtonCG(_ProblemCG):
    """Newton's method for a :class:`MinimizationProblem`: CG on H dx = -grad f, with Hessian
    products by double back-propagation; ``run(num_cg_iter, num_newton_iter)``."""

    _gradient = None

    def A(self, p: TensorList) -> TensorList:
        return _grad(self._gradient, self.x, p)

    def run(self, num_cg_iter: int, num_newton_iter: int = 1) -> TensorList:
        for _ in range(num_newton_iter if num_cg_iter > 0 else 0):
            self.x.requires_grad_(True)
            try:
                loss = self.problem(self.x)
                if self.debug:
                    self.losses.append(loss.item())
                self._gradient = TensorList(torch.autograd.grad(loss, list(self.x), create_graph=True))
                self.b = -self._gradient.detach()
                delta, norms = self.run_cg(num_cg_iter, eps=self.cg_eps)
            finally:
                self.x.requires_grad_(False)
                self._gradient = None
            self.residuals.extend(norms)
            _add_(self.x, delta.detach())
        if self.debug:
            with torch.no_grad():
                self.losses.append(self.problem(self.x).item())
        return self.x


class GradientDescent:
    """Gradient descent with (heavy-ball) momentum on a :class:`MinimizationProblem`:
    dir = grad + momentum * dir, x -= step_length * dir. The direction persists across calls."""

    def __init__(self, problem, variable, step_length: float, momentum: float = 0.0, debug: bool = False):
        self.problem = problem
        self.x = _as_variable(variable)
        self.step_length = step_length
        self.momentum = momentum
        self.debug = debug
        self.direction: TensorList | None = None
        self.losses: list[float] = []
        self.gradient_norms: list[float] = []

    def objective(self, x: TensorList) -> torch.Tensor:
        return self.problem(x)

    def run(self, num_iter: int) -> TensorList:
        for _ in range(num_iter):
            self.x.requires_grad_(True)
            try:
                loss = self.objective(self.x)
                grad = TensorList(torch.autograd.grad(loss, list(self.x)))
            finally:
                self.x.requires_grad_(False)
            self.direction = grad if self.direction is None else grad + self.direction * self.momentum
            if self.debug:
                self.losses.append(loss.item())
                self.gradient_norms.append(grad.dot(grad).sqrt().item())
            _add_(self.x, self.direction * (-self.step_length))
        if self.debug and num_iter > 0:
            with torch.no_grad():
                self.losses.append(self.objective(self.x).item())
        return self.x


class GradientDescentL2(GradientDescent):
    """:class:`GradientDescent` on the loss ip_output(r, r) of an :class:`L2Problem` (its
    gradient is 2 J^T r)."""

    def objective(self, x: TensorList) -> torch.Tensor:
        f = TensorList(self.problem(x))
        return _scalar(self.problem.ip_output(f, f))
