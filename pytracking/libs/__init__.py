"""Numerical building blocks of the trackers: TensorList, least-squares optimisers, Fourier
interpolation, correlation-filter helpers (labels, windows) and convolution helpers."""
