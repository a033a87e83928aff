"""Training objectives beyond the plain regression losses of ``torch.nn``."""

from ltr.models.loss.template_matching import TemplateMatchingLoss

__all__ = ["TemplateMatchingLoss"]
