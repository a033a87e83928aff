"""Tracktor (Bergmann et al., ICCV 2019) as mmtracking publishes it: a Faster R-CNN detector whose
box head carries tracks from frame to frame, camera-motion compensation and ReID. Tracker name
``tracktor``, parameter files ``pytracking/parameter/tracktor/`` (``default``: mmtracking's
MOT17 private-detection config; ``public``: its public-detection config; ``synthetic``: the
networks of ``ltr/train_settings/tracktor/tracktor_synthetic.py``; ``no_reid``, ``no_cmc``)."""


def get_tracker_class():
    from pytracking.tracker.tracktor.tracker import TracktorTracker

    return TracktorTracker
