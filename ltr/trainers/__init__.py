from ltr.trainers.ltr_trainer import LTRTrainer, NonFiniteLossError

__all__ = ["LTRTrainer", "NonFiniteLossError"]
