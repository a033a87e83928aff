"""ATOM with the published settings: ResNet-18 features, 288x288 samples at 5x the target area,
an online classifier on layer3 and IoU-Net box refinement."""

from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = TrackerParams()
    params.debug = 0
    params.device = None  # None: CUDA when available, else CPU
    # "bfloat16": backbone and IoU feature convolutions in bfloat16 (autocast); about 3x faster
    # on CPUs with AMX (4th-generation Xeon and later) and on GPUs. None: float32, as published.
    params.amp = None
    params.net_path = "atom_default.pth"  # relative paths are looked up in network_path
    params.seed = 0

    # Samples and features.
    params.image_sample_size = 18 * 16
    params.search_area_scale = 5.0
    params.scale_factors = (1.0,)
    params.classifier_layer = "layer3"
    params.iounet_layers = ("layer2", "layer3")
    params.normalize_power = 2  # classifier features divided by their mean square

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
    params.fletcher_reeves = False
    params.standard_alpha = True
    params.CG_forgetting_rate = None  # None: each run starts a new search direction
    params.precond_data_param = 0.75
    params.precond_reg_param = 0.25
    params.precond_proj_param = 40
    params.score_upsample_factor = 1
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
    params.random_shift_factor = 1 / 3

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
    params.iounet_k = 3
    params.num_init_random_boxes = 9
    params.box_jitter_pos = 0.1
    params.box_jitter_sz = 0.5
    params.maximal_aspect_ratio = 6
    params.box_refinement_iter = 5
    params.box_refinement_step_length = 1
    params.box_refinement_step_decay = 1
    # The IoU predictor's test features are computed only within this many target sizes
    # (square root of the area) around the box, about half the map; refined boxes that stay
    # there get the predictions of the whole map. None computes the whole map.
    params.iou_window_margin = 1.0
    return params
