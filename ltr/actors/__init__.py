from ltr.actors.base_actor import BaseActor
from ltr.actors.bbreg import AtomActor
from ltr.actors.detection import DetectionActor

__all__ = ["AtomActor", "BaseActor", "DetectionActor"]
