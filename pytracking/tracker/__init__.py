"""Trackers, one package each: ``pytracking/tracker/<name>/__init__.py`` defines
``get_tracker_class()``; see :mod:`pytracking.tracker.base` for the interface and conventions."""

from pytracking.tracker.base import BaseTracker, TrackerParams

__all__ = ["BaseTracker", "TrackerParams"]
