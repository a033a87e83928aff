"""FairMOT's networks (DLA-34 with DCNv2 on torchvision, ResNet-DCN, a tiny DLA), heads, weight
conversion and ONNX export."""

from ltr.models.fairmot.convert import (FairMOTWeightsError, FairMOTWeightsReport, load_dla34_imagenet,
                                        load_fairmot_weights)
from ltr.models.fairmot.dcn import DCN
from ltr.models.fairmot.network import (build_fairmot, fairmot_dla_34, fairmot_dlaconv_34, fairmot_resdcn_34,
                                        fairmot_resdcn_50, fairmot_tiny)

__all__ = ["DCN", "FairMOTWeightsError", "FairMOTWeightsReport", "build_fairmot", "fairmot_dla_34",
           "fairmot_dlaconv_34", "fairmot_resdcn_34", "fairmot_resdcn_50", "fairmot_tiny", "load_dla34_imagenet",
           "load_fairmot_weights"]
