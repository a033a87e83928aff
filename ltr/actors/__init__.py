from ltr.actors.base_actor import BaseActor
from ltr.actors.bbreg import AtomActor
from ltr.actors.reid import ReIDActor

__all__ = ["AtomActor", "BaseActor", "ReIDActor"]
