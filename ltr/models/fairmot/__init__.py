"""FairMOT's networks (DLA-34 with DCNv2 on torchvision, ResNet-DCN, a tiny DLA), heads and
weight conversion."""
