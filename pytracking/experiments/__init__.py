"""Experiments: functions returning ``(trackers, dataset)``, run with
``python pytracking/run_experiment.py <module> <function>`` (for example
``python pytracking/run_experiment.py myexperiments opencv_otb``)."""
