"""Networks: backbones (``backbone``), bounding-box regressors (``bbreg``), shared layers
(``layers``), full tracking networks with their constructor registry (``tracking``), and
checkpoint saving and loading (``loading``)."""
