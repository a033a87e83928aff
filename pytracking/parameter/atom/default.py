"""ATOM with the published settings and the published tracker's rules: ResNet-18 features,
288x288 samples at 5x the target's side, an online classifier on layer3 and IoU-Net box
refinement. Names follow pytracking's parameter files, with pairs in its (y, x) order, so that
its settings can be copied; each option that departs from the published tracker is named here
with its published value (``improved.py`` sets the others)."""

from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = TrackerParams()
    params.debug = 0
    params.device = None  # None: CUDA when available, else CPU
    # "bfloat16": backbone and IoU feature convolutions in bfloat16 (autocast); about 3x faster
    # on CPUs with AMX (4th-generation Xeon and later) and on GPUs. None: float32, as published.
    params.amp = None
    # Speed-ups that change only the rounding (see improved.py): the published tracker's online
    # learning amplifies rounding about 10^5-fold, so its results are reproduced only without them.
    params.fold_batch_norm = False
    params.channels_last = False
    params.net_path = "atom_default.pth"  # relative paths are looked up in network_path
    params.seed = 0  # every random draw below comes from generators seeded with it

    # Samples and features.
    params.image_sample_size = 18 * 16  # min and max image sample size: its square
    params.search_area_scale = 5.0
    params.feature_size_odd = False
    params.scale_factors = (1.0,)
    params.classifier_layer = "layer3"
    params.normalize_power = 2  # classifier features divided by their root mean square
    params.crop_mode = "whole_pixel"  # published; "subpixel": the training crop at the exact position

    # Online classifier.
    params.filter_size = 4
    params.compressed_dim = 64
    params.output_sigma_factor = 1 / 4
    params.filter_reg = 1e-1
    params.projection_reg = 1e-4
    params.response_activation = ("mlu", 0.05)
    params.sample_memory_size = 250
    params.learning_rate = 0.01
    params.init_samples_minimum_weight = 0.25
    params.train_skipping = 10
    params.init_CG_iter = 60  # in init_GN_iter Gauss-Newton iterations
    params.init_GN_iter = 6
    params.CG_iter = 5
    params.post_init_CG_iter = 0
    params.fletcher_reeves = False  # of the filter updates; the first frame's Gauss-Newton uses it
    params.CG_forgetting_rate = None  # None: each run starts a new search direction
    params.preconditioner = "diagonal"  # published; "energy": see improved.py
    params.proj_init_method = "randn"  # or "pca" (no random draw)
    params.filter_init_method = "randn"  # or "zeros" (no random draw)
    params.score_upsample_factor = 1  # score cells per sample pixel
    params.window_output = False

    # First-frame augmentation: 30 samples with the dropout copies.
    params.augmentation = {
        "fliplr": True,
        "rotate": [5, -5, 10, -10, 20, -20, 30, -30, 45, -45, -60, 60],
        "blur": [(2, 0.2), (0.2, 2), (3, 1), (1, 3), (2, 2)],
        "relativeshift": [(0.6, 0.6), (-0.6, 0.6), (0.6, -0.6), (-0.6, -0.6)],
        "dropout": (7, 0.2),
    }
    params.augmentation_expansion_factor = 2
    params.random_shift_factor = 1 / 3  # 0: no random shifts

    # Localisation.
    params.advanced_localization = True
    params.target_not_found_threshold = 0.25
    params.distractor_threshold = 0.8
    params.hard_negative_threshold = 0.5
    params.target_neighborhood_scale = 2.2
    params.displacement_scale = 0.8
    params.hard_negative_learning_rate = 0.02
    params.hard_negative_CG_iter = 5
    params.update_scale_when_uncertain = True

    # IoU-Net.
    params.use_iou_net = True
    params.iounet_augmentation = False
    params.iounet_k = 3
    params.num_init_random_boxes = 9  # 0: refine the classifier's box alone (no random draw)
    params.box_jitter_pos = 0.1
    params.box_jitter_sz = 0.5
    params.maximal_aspect_ratio = 6
    params.box_refinement_iter = 5
    params.box_refinement_step_length = 1
    params.box_refinement_step_decay = 1
    # None: the whole map's values, as published, computed only in the cells that the refined
    # boxes read (the same values bit for bit); a number: see improved.py.
    params.iou_window_margin = None
    params.clamp_refined_state = False  # published: the refined box is taken as it is
    return params
