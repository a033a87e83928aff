"""FairMOT's training recipes (github.com/ifzhang/FairMOT ``experiments/*.sh``), run by
``python ltr/run_training.py fairmot <recipe>``; :mod:`.base` holds FairMOT's defaults."""
