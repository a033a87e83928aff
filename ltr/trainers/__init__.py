from ltr.trainers.ltr_trainer import (CheckpointMismatchError, CheckpointsExistError, LTRTrainer, NonFiniteLossError,
                                     TrainingError, TrainingInterrupted)
from ltr.trainers.schedules import EpochHook, LinearWarmup

__all__ = ["CheckpointMismatchError", "CheckpointsExistError", "EpochHook", "LTRTrainer", "LinearWarmup",
           "NonFiniteLossError", "TrainingError", "TrainingInterrupted"]
