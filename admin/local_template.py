"""Paths on this machine: the one file to edit, read by both ltr (training) and pytracking
(tracking and evaluation) through admin.environment.env_settings().

install.sh creates admin/local.py from admin/local_template.py and never overwrites it. An
installed copy (pip install .) reads ~/.config/tracking-toolkit/local.py instead, which
`tracking-admin create-local` writes from this template.
Leave a field '' to use its default. Relative paths are taken from the repository root (in an
installed copy: from this file's folder).
Any field can also be set by the environment variable TRACKING_<FIELD IN UPPER CASE>, for
example TRACKING_OTB_PATH=/data/otb, which wins over this file.
`python -m admin show` prints every field, its value and where it came from.
"""

# Everything the toolkit writes. Default: workspace/ in the repository (git-ignored); in an
# installed copy ~/.local/share/tracking-toolkit/workspace.
workspace_dir = ''
# The next seven default to a folder inside workspace_dir.
tensorboard_dir = ''       # <workspace_dir>/tensorboard
pretrained_networks = ''   # <workspace_dir>/pretrained_networks: ImageNet backbone weights
network_path = ''          # <workspace_dir>/networks: trained networks that trackers load
results_path = ''          # <workspace_dir>/tracking_results
result_plot_path = ''      # <workspace_dir>/result_plots
synthetic_dir = ''         # <workspace_dir>/synthetic: the generated synthetic dataset
synthetic_mot_dir = ''     # <workspace_dir>/synthetic_mot: the generated synthetic MOT dataset

# Training datasets.
lasot_dir = ''             # LaSOT: <class>/<class>-<n>/img/...
got10k_dir = ''            # GOT-10k: its train/ folder (holding list.txt)
trackingnet_dir = ''       # TrackingNet: the folder holding TRAIN_0, TRAIN_1, ...
coco_dir = ''              # COCO: annotations/ and images
imagenet_dir = ''          # ImageNet-VID (ILSVRC2015): Annotations/ and Data/

# Multi-object tracking (training and evaluation).
mot15_dir = ''             # 2DMOT15: train/ and test/ of <seq>/seqinfo.ini, img1/, gt/, det/
mot16_dir = ''             # MOT16: train/ and test/
mot17_dir = ''             # MOT17: train/ and test/ (-DPM, -FRCNN, -SDP copies)
mot20_dir = ''             # MOT20: train/ and test/
crowdhuman_dir = ''        # CrowdHuman: annotation_train.odgt, annotation_val.odgt, Images/
jde_root = ''              # FairMOT/JDE: the root of images/ and labels_with_ids/ lists
jde_data_dir = ''          # FairMOT's data configs (data.json, mot17.json, ...) and, under it, their list files

# Evaluation benchmarks.
otb_path = ''              # OTB-100
nfs_path = ''              # NFS
uav_path = ''              # UAV123
tpl_path = ''              # Temple-Color-128
vot_path = ''              # VOT2018
got10k_path = ''           # GOT-10k: the folder holding val/ and test/
lasot_path = ''            # LaSOT test
trackingnet_path = ''      # TrackingNet: the folder holding TEST/
