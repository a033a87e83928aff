"""The parameters :class:`pytracking.tracker.atom.atom.ATOM` reads, with the default it reads
each with (:data:`REQUIRED`: none; a parameter file sets it). Their meaning and published values
are in ``pytracking/parameter/atom/default.py``. A parameter file that sets a name not listed
here is an error (see :meth:`pytracking.tracker.base.BaseTracker.check_parameters`); a name
listed here that ATOM no longer reads fails ``tests/pytracking/tracker/test_declared_parameters.py``."""

from pytracking.tracker.base import REQUIRED, NoDefault

_SAMPLE_AREA = NoDefault("image_sample_size squared")

PARAMETERS = {
    # Network and run.
    "net_path": REQUIRED,
    "device": None,  # None: CUDA when available, else CPU
    "amp": None,
    "fold_batch_norm": False,
    "channels_last": False,
    "seed": 0,
    # Samples and features.
    "image_sample_size": 18 * 16,
    "min_image_sample_size": _SAMPLE_AREA,
    "max_image_sample_size": _SAMPLE_AREA,
    "search_area_scale": REQUIRED,
    "feature_size_odd": False,
    "scale_factors": REQUIRED,
    "classifier_layer": REQUIRED,
    "normalize_power": REQUIRED,
    "crop_mode": "whole_pixel",
    # Online classifier (pytracking.tracker.atom.classifier).
    "filter_size": REQUIRED,
    "compressed_dim": REQUIRED,
    "output_sigma_factor": REQUIRED,
    "filter_reg": REQUIRED,
    "projection_reg": REQUIRED,
    "response_activation": REQUIRED,
    "sample_memory_size": REQUIRED,
    "learning_rate": REQUIRED,
    "init_samples_minimum_weight": None,
    "train_skipping": REQUIRED,
    "init_CG_iter": REQUIRED,
    "init_GN_iter": REQUIRED,
    "CG_iter": REQUIRED,
    "post_init_CG_iter": REQUIRED,
    "fletcher_reeves": REQUIRED,
    "CG_forgetting_rate": None,
    "preconditioner": "diagonal",
    "precond_data_param": 0.75,
    "precond_reg_param": 0.25,
    "precond_proj_param": 40,
    "proj_init_method": "randn",
    "filter_init_method": "randn",
    "score_upsample_factor": REQUIRED,
    "window_output": REQUIRED,
    # First-frame augmentation (pytracking.features.augmentation).
    "augmentation": REQUIRED,
    "augmentation_expansion_factor": REQUIRED,
    "random_shift_factor": REQUIRED,
    # Localisation (pytracking.tracker.atom.localization).
    "advanced_localization": REQUIRED,
    "target_not_found_threshold": REQUIRED,
    "distractor_threshold": REQUIRED,
    "hard_negative_threshold": REQUIRED,
    "target_neighborhood_scale": REQUIRED,
    "displacement_scale": REQUIRED,
    "hard_negative_learning_rate": REQUIRED,
    "hard_negative_CG_iter": REQUIRED,
    "update_scale_when_uncertain": REQUIRED,
    # IoU-Net box refinement (pytracking.tracker.atom.box_refinement).
    "use_iou_net": REQUIRED,
    "iounet_augmentation": False,
    "iounet_k": REQUIRED,
    "num_init_random_boxes": REQUIRED,
    "box_jitter_pos": REQUIRED,
    "box_jitter_sz": REQUIRED,
    "maximal_aspect_ratio": REQUIRED,
    "box_refinement_iter": REQUIRED,
    "box_refinement_step_length": REQUIRED,
    "box_refinement_step_decay": REQUIRED,
    "iou_window_margin": REQUIRED,
    "clamp_refined_state": False,
}
