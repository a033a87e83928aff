"""ATOM's actor under the trainer's mixed precision on the CPU: a bfloat16 autocast step gives a
finite loss close to float32's, finite gradients, and an Adam step (fused, as atom_default)."""

import torch

from ltr.actors import AtomActor
from ltr.data.tensordict import TensorDict
from ltr.models.tracking.atom import atom_resnet_tiny
from ltr.trainers.ltr_trainer import AMP_DTYPES


def tiny_batch(sequences=2, proposals=8, size=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    boxes = torch.cat([20 + 8 * torch.rand(1, sequences, 2, generator=generator),
                       16 + 8 * torch.rand(1, sequences, 2, generator=generator)], -1)
    proposals_ = boxes[:, :, None, :] + 3 * torch.randn(1, sequences, proposals, 4, generator=generator)
    return TensorDict(train_images=torch.randn(1, sequences, 3, size, size, generator=generator),
                      test_images=torch.randn(1, sequences, 3, size, size, generator=generator),
                      train_anno=boxes, test_anno=boxes.clone(), test_proposals=proposals_,
                      proposal_iou=torch.rand(1, sequences, proposals, generator=generator) * 2 - 1)


def step(amp, frozen):
    torch.manual_seed(0)
    net = atom_resnet_tiny(width=8, extractor_grad=not frozen, channels_last=frozen)
    actor = AtomActor(net, torch.nn.MSELoss())
    actor.train()
    trained = net.bb_regressor if frozen else net
    optimizer = torch.optim.Adam(trained.parameters(), lr=1e-3, fused=True)
    before = [p.detach().clone() for p in trained.parameters()]
    # As LTRTrainer.cycle_dataset and LTRTrainer.step run it.
    autocast = torch.autocast("cpu", dtype=AMP_DTYPES[amp]) if amp else torch.autocast("cpu", enabled=False)
    with autocast:
        loss, stats = actor(tiny_batch())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grads = [p.grad for p in net.bb_regressor.parameters()]
    optimizer.step()
    # Parameters with a zero gradient (biases of convolutions before a BatchNorm) stay as they are.
    changed = sum(not torch.equal(a, p) for a, p in zip(before, trained.parameters()))
    moving = sum(bool(p.grad.abs().sum() > 0) for p in trained.parameters() if p.grad is not None)
    return loss, stats, grads, changed, moving


def test_bfloat16_step_is_finite_and_close_to_float32():
    for frozen in (True, False):
        loss32, _, _, _, _ = step(None, frozen)
        loss16, stats, grads, changed, count = step("bfloat16", frozen)
        assert loss16.dtype == torch.float32 and torch.isfinite(loss16)
        assert abs(stats["Loss/iou"] - loss32.item()) <= 0.05 * loss32.item()
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert changed == count > 0
