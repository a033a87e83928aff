"""The trainer with an objective that has parameters (FairMOT's loss owns its identity
classifier and uncertainty weights): moved, checkpointed and restored with the network; an
actor whose objective has none behaves as before."""

import logging
import os

import numpy as np
import pytest
import torch

from ltr.actors import BaseActor
from ltr.actors.base_actor import objective_with_parameters
from ltr.data.loader import LTRLoader
from ltr.data.tensordict import TensorDict
from ltr.models.loading import load_checkpoint, save_checkpoint
from ltr.settings import TrainSettings
from ltr.trainers import LTRTrainer
from ltr.trainers.ltr_trainer import CheckpointMismatchError


class Samples(torch.utils.data.Dataset):
    def __init__(self, count: int = 32):
        self.count = count
        self.rng = np.random.default_rng(0)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        x = torch.from_numpy(self.rng.standard_normal(6).astype(np.float32))
        return TensorDict(train_images=x, target=x[:1] * 2 - x[1:2])


class LearntObjective(torch.nn.Module):
    """A head and a log-weight that training learns, as FairMOT's loss does."""

    def __init__(self, features: int = 4):
        super().__init__()
        self.head = torch.nn.Linear(features, 1)
        self.log_weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, features, target):
        error = torch.nn.functional.mse_loss(self.head(features), target)
        return torch.exp(-self.log_weight) * error + self.log_weight


class Actor(BaseActor):
    def __call__(self, data):
        features = self.net(data["train_images"])
        if isinstance(self.objective, torch.nn.MSELoss):
            loss = self.objective(features[:, :1], data["target"])
        else:
            loss = self.objective(features, data["target"])
        return loss, {"Loss/total": loss.item()}


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))
    return tmp_path / "workspace"


def trainer(*, learnt: bool = True, resume: bool = False, features: int = 4) -> LTRTrainer:
    settings = TrainSettings(module_name="tests", script_name="objective", seed=5, device="cpu", resume=resume)
    torch.manual_seed(5)
    net = torch.nn.Linear(6, 4)
    objective = LearntObjective(features) if learnt else torch.nn.MSELoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    if learnt:
        optimizer.add_param_group({"params": objective.parameters()})  # FairMOT's base_trainer does the same
    loader = LTRLoader("train", Samples(), batch_size=8, seed=5)
    return LTRTrainer(Actor(net, objective), [loader], optimizer, settings)


def test_objective_is_saved_and_restored_on_resume(workspace):
    uninterrupted = trainer()
    uninterrupted.train(3)
    final = {k: v.clone() for k, v in uninterrupted.actor.objective.state_dict().items()}
    initial = LearntObjective().state_dict()
    assert not torch.equal(final["log_weight"], torch.zeros(1))  # it learnt

    checkpoint = load_checkpoint(uninterrupted.checkpoint_path(2))
    assert set(checkpoint["objective"]) == {"head.weight", "head.bias", "log_weight"}

    for path in list(uninterrupted.checkpoint_dir.glob("*ep0003*")):
        path.unlink()  # interrupted after epoch 2
    resumed = trainer(resume=True)
    assert not torch.equal(resumed.actor.objective.head.weight, checkpoint["objective"]["head.weight"])
    resumed.load_checkpoint(uninterrupted.checkpoint_path(2))
    for name, value in checkpoint["objective"].items():
        assert torch.equal(resumed.actor.objective.state_dict()[name], value)
    resumed.train(3)
    for name, value in final.items():  # and the continued run ends where the uninterrupted one did
        assert torch.allclose(resumed.actor.objective.state_dict()[name], value, atol=1e-6), name
    assert not torch.equal(final["head.weight"], initial["head.weight"])


def test_an_objective_without_parameters_is_as_before(workspace):
    run = trainer(learnt=False)
    assert objective_with_parameters(run.actor.objective) is None
    run.train(2)
    checkpoint = load_checkpoint(run.checkpoint_path(2))
    assert "objective" not in checkpoint
    again = trainer(learnt=False, resume=True)
    again.train(2)
    assert again.epoch == 2


def test_a_checkpoint_without_the_objective_still_resumes(workspace, caplog):
    run = trainer()
    run.train(1)
    path = run.checkpoint_path(1)
    checkpoint = load_checkpoint(path)
    del checkpoint["objective"]  # as written before objectives were saved
    save_checkpoint(path, checkpoint)
    again = trainer(resume=True)
    before = again.actor.objective.head.weight.detach().clone()
    with caplog.at_level(logging.WARNING):
        again.load_checkpoint(path)
    assert again.epoch == 1 and torch.equal(again.actor.objective.head.weight, before)
    assert "holds no state of the objective" in caplog.text


def test_an_objective_of_another_shape_is_refused_naming_the_file(workspace):
    run = trainer()
    run.train(1)
    checkpoint = load_checkpoint(run.checkpoint_path(1))
    checkpoint["objective"]["head.weight"] = torch.zeros(1, 7)
    save_checkpoint(run.checkpoint_path(1), checkpoint)
    with pytest.raises(CheckpointMismatchError, match="objective"):
        trainer(resume=True).load_checkpoint(run.checkpoint_path(1))


def test_the_actor_moves_the_objective_and_sets_its_mode():
    objective = LearntObjective()
    actor = Actor(torch.nn.Linear(6, 4), objective)
    actor.eval()
    assert not objective.training
    actor.train()
    assert objective.training
    actor.to(torch.device("cpu"))
    assert objective.head.weight.device.type == "cpu"


def test_publish_copies_the_last_checkpoint_where_trackers_load_it(workspace):
    run = trainer(learnt=False)
    run.train(2)
    target = run.publish(workspace / "networks" / "published.pth.tar")
    assert target.read_bytes() == run.checkpoint_path(2).read_bytes()
    assert not list(target.parent.glob("*.tmp*"))  # written through a temporary file, renamed
