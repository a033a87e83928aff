from ltr.trainers.ltr_trainer import (CheckpointMismatchError, CheckpointsExistError, LTRTrainer, NonFiniteLossError,
                                     TrainingError, TrainingInterrupted)

__all__ = ["CheckpointMismatchError", "CheckpointsExistError", "LTRTrainer", "NonFiniteLossError", "TrainingError",
           "TrainingInterrupted"]
