"""Evaluations run while training (detector bbox AP), in ``ltr`` because the trainer's hooks call
them; tracking metrics live in ``pytracking.analysis``."""
