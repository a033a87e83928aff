"""ATOM's IoU-Net training end to end on a small generated dataset: settings module, datasets,
sampler, processing, network, actor and trainer."""

import os

import pytest
import torch

from ltr.dataset.synthetic import SceneConfig, generate_dataset
from ltr.settings import TrainSettings
from ltr.train_settings.bbreg import atom_default, atom_synthetic


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, seed=5, train=4, val=2, config=SceneConfig(width=160, height=120, frames=30), workers=2)
    return root


def test_tiny_atom_training_lowers_its_loss(synthetic_root, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))
    monkeypatch.setenv("TRACKING_SYNTHETIC_DIR", str(synthetic_root))
    settings = TrainSettings(module_name="bbreg", script_name="atom_synthetic", seed=0, device="cpu")
    torch.manual_seed(0)
    atom_synthetic.configure(settings)
    settings.batch_size = 8
    settings.num_workers = 0
    settings.epochs = 5
    settings.feature_sz = 4
    settings.output_sz = 64
    settings.train_samples_per_epoch = 10 * 8
    settings.val_samples_per_epoch = 2 * 8
    settings.network_kwargs = {"width": 8}
    trainer = atom_default.train(settings, atom_synthetic.datasets)
    train_loss = trainer.stats["train"]["Loss/iou"]
    assert len(train_loss) == 5 and len(trainer.stats["val"]["Loss/iou"]) == 5
    assert len(trainer.stats["train"]["Loss/template"]) == 5  # atom_synthetic trains the backbone with it
    assert train_loss[-1] < 0.75 * train_loss[0]
    checkpoint = torch.load(trainer.latest_checkpoint(), weights_only=True)
    assert checkpoint["constructor"]["name"] == "atom_resnet_tiny" and checkpoint["epoch"] == 5


def test_atom_default_names_the_missing_dataset(tmp_path, monkeypatch):
    from admin.environment import EnvironmentPathError

    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.delenv("TRACKING_LASOT_DIR", raising=False)
    settings = TrainSettings(module_name="bbreg", script_name="atom_default", device="cpu")
    atom_default.configure(settings)
    with pytest.raises(EnvironmentPathError, match="lasot_dir.*TRACKING_LASOT_DIR"):
        atom_default.datasets(settings)
    assert settings.output_sz == 288 and settings.batch_size == 64 and settings.epochs == 50
