"""Networks: backbones (``backbone``), bounding-box regressors (``bbreg``), shared layers
(``layers``), full tracking networks (``tracking``), the registry of network constructors of
every family (``registry``), and checkpoint saving and loading (``loading``)."""
