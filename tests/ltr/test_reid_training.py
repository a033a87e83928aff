"""The ReID recipe end to end on a tiny generated synthetic MOT dataset (reid_synthetic): crops,
P x K sampler, network, actor, warm-up, schedule, validation hook, checkpoint, load_network; and
the validation metrics on hand-computed embeddings."""

import os

import numpy as np
import pytest
import torch

from ltr.dataset.synthetic.mot import MotConfig
from ltr.dataset.synthetic.mot_generate import generate_mot_dataset
from ltr.models.loading import load_network
from ltr.models.reid.evaluation import reid_metrics
from ltr.settings import TrainSettings
from ltr.train_settings.tracktor import reid_r50_mot17, reid_synthetic


@pytest.fixture(scope="module")
def synthetic_mot_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic_mot")
    generate_mot_dataset(root, seed=4, train=2, val=1, workers=1,
                         config=MotConfig(width=160, height=120, frames=12, min_objects=8, max_objects=12))
    return root


def test_tiny_reid_training_lowers_its_loss_and_rebuilds(synthetic_mot_root, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))
    monkeypatch.setenv("TRACKING_SYNTHETIC_MOT_DIR", str(synthetic_mot_root))
    settings = TrainSettings(module_name="tracktor", script_name="reid_synthetic", seed=0, device="cpu")
    torch.manual_seed(0)
    reid_synthetic.configure(settings)
    settings.num_workers = 0
    settings.epochs = 3
    settings.train_samples_per_epoch = 8
    settings.warmup_iterations = 2
    settings.lr_milestones = [3]
    settings.reid_val_max_crops = 120
    settings.network_kwargs = {"width": 8, "fc_channels": 64}
    trainer = reid_synthetic.train(settings)
    losses = trainer.stats["train"]["Loss/total"]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert set(trainer.stats["train"]) == {"Loss/total", "Loss/ce", "Loss/triplet", "Acc/top1"}
    validation = trainer.stats["val"]
    assert len(validation["mAP"]) == 3 and 0 < validation["mAP"][-1] <= 1
    assert validation["dist_same"][-1] < validation["dist_other"][-1]
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.05 * 0.1)  # stepped after epoch 3

    path = trainer.latest_checkpoint()
    assert path.name == "ReIDNet_ep0003.pth.tar"
    net = load_network(path).eval()
    assert net.constructor["name"] == "reid_tiny" and net.num_classes == trainer.actor.net.num_classes
    crops = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        assert torch.allclose(net(crops), trainer.actor.net.eval()(crops))


def test_reid_r50_mot17_is_the_published_recipe_and_names_the_missing_dataset(tmp_path, monkeypatch):
    from admin.environment import EnvironmentPathError

    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.delenv("TRACKING_MOT17_DIR", raising=False)
    settings = TrainSettings(module_name="tracktor", script_name="reid_r50_mot17", device="cpu")
    reid_r50_mot17.configure(settings)
    assert (settings.learning_rate, settings.momentum, settings.weight_decay) == (0.1, 0.9, 1e-4)
    assert (settings.warmup_iterations, settings.warmup_ratio, settings.lr_milestones, settings.epochs) == \
        (1000, 0.001, [5], 6)
    assert (settings.reid_ids_per_batch, settings.reid_crops_per_id, settings.reid_triplet_margin) == (8, 4, 0.3)
    with pytest.raises(EnvironmentPathError, match="mot17_dir.*TRACKING_MOT17_DIR"):
        reid_r50_mot17.datasets(settings)


def test_metrics_on_hand_computed_embeddings():
    embeddings = torch.tensor([[0.0], [3.0], [1.0], [10.0]])
    figures = reid_metrics(embeddings, np.array([0, 0, 1, 1]), ranks=(1, 2))
    # gallery orders without the query: 0 -> [2, 1, 3], 1 -> [2, 0, 3], 2 -> [0, 1, 3], 3 -> [1, 2, 0];
    # APs 1/2, 1/2, 1/3, 1/2
    assert figures["mAP"] == pytest.approx((0.5 + 0.5 + 1 / 3 + 0.5) / 4)
    assert figures["R1"] == 0 and figures["R2"] == pytest.approx(0.75)
    assert figures["dist_same"] == pytest.approx(6.0) and figures["dist_other"] == pytest.approx(5.0)
