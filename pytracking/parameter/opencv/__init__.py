"""Parameter settings of the OpenCV baseline trackers (``pytracking/tracker/opencv``)."""
