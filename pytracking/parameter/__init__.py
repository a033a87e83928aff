"""Parameter settings of the trackers: ``pytracking/parameter/<tracker>/<name>.py`` defines
``parameters() -> TrackerParams`` (see :mod:`pytracking.tracker.base`)."""
