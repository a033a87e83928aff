from ltr.actors.base_actor import BaseActor
from ltr.actors.bbreg import AtomActor

__all__ = ["AtomActor", "BaseActor"]
