from ltr.actors.base_actor import BaseActor
from ltr.actors.bbreg import AtomActor
from ltr.actors.detection import DetectionActor
from ltr.actors.fairmot import FairMOTActor
from ltr.actors.reid import ReIDActor

__all__ = ["AtomActor", "BaseActor", "DetectionActor", "FairMOTActor", "ReIDActor"]
