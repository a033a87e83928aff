"""Training objectives beyond the plain regression losses of ``torch.nn``."""

from ltr.models.loss.fairmot import FairMOTLoss
from ltr.models.loss.template_matching import TemplateMatchingLoss
from ltr.models.loss.triplet import TripletLoss

__all__ = ["FairMOTLoss", "TemplateMatchingLoss", "TripletLoss"]
