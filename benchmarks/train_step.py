"""Samples per second of one atom_default training step: a batch of image pairs at 288x288 with
16 proposals each, ResNet-18 backbone frozen, IoU-Net forward and backward, Adam step; and the
time split between the backbone, the RoI pooling (forward and backward, compiled op) and the
rest of the IoU-Net.

    python benchmarks/train_step.py [--batch 16] [--steps 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from external.PreciseRoIPooling import function as prroi_function
from ltr.actors import AtomActor
from ltr.data.tensordict import TensorDict
from ltr.models.registry import build_network


class TimedOp:
    """Wraps the compiled PrRoIPool module and adds up the time of its calls."""

    def __init__(self, compiled, synchronise):
        self.compiled, self.synchronise, self.seconds = compiled, synchronise, 0.0

    def _timed(self, name, *args):
        self.synchronise()
        start = time.perf_counter()
        result = getattr(self.compiled, name)(*args)
        self.synchronise()
        self.seconds += time.perf_counter() - start
        return result

    def forward(self, *args):
        return self._timed("forward", *args)

    def backward(self, *args):
        return self._timed("backward", *args)

    def with_cuda(self):
        return self.compiled.with_cuda()


def make_batch(batch: int, device: str, generator: torch.Generator) -> TensorDict:
    size = 288
    boxes = torch.cat([torch.rand(1, batch, 2, generator=generator) * 100 + 80,
                       torch.rand(1, batch, 2, generator=generator) * 40 + 40], -1)
    proposals = boxes[:, :, None, :] + torch.randn(1, batch, 16, 4, generator=generator) * 5
    proposals[..., 2:] = proposals[..., 2:].clamp(min=5)
    return TensorDict(train_images=torch.randn(1, batch, 3, size, size, generator=generator),
                      test_images=torch.randn(1, batch, 3, size, size, generator=generator),
                      train_anno=boxes, test_proposals=proposals,
                      proposal_iou=torch.rand(1, batch, 16, generator=generator) * 2 - 1).to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = args.device

    def synchronise():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    if not prroi_function.compiled_available(device):
        raise SystemExit("the compiled PrRoIPool op is not built: run ./install.sh")
    timed = TimedOp(prroi_function._C, synchronise)
    prroi_function._C = timed
    torch.manual_seed(0)
    net = build_network("atom_resnet18", backbone_pretrained=False).to(device)
    actor = AtomActor(net, torch.nn.MSELoss())
    actor.train()
    optimizer = torch.optim.Adam(net.bb_regressor.parameters(), lr=1e-3)
    data = make_batch(args.batch, device, torch.Generator().manual_seed(0))

    def step():
        loss, _ = actor(data)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def backbone():
        with torch.no_grad():
            images = torch.cat([data["train_images"], data["test_images"]]).reshape(-1, 3, 288, 288)
            net.extract_backbone_features(images)

    step()  # warm-up
    step_times, backbone_times, pool_times = [], [], []
    for _ in range(args.steps):
        timed.seconds = 0.0
        synchronise()
        start = time.perf_counter()
        step()
        synchronise()
        step_times.append(time.perf_counter() - start)
        pool_times.append(timed.seconds)
        start = time.perf_counter()
        backbone()
        synchronise()
        backbone_times.append(time.perf_counter() - start)
    step_s, backbone_s, pool_s = (statistics.median(t) for t in (step_times, backbone_times, pool_times))
    iou_net_s = step_s - backbone_s - pool_s
    figures = {"device": device, "batch": args.batch, "threads": torch.get_num_threads(),
               "step_s": round(step_s, 4), "samples_per_s": round(args.batch / step_s, 2),
               "backbone_s": round(backbone_s, 4), "prroi_pool_s": round(pool_s, 4),
               "iou_net_rest_s": round(iou_net_s, 4),
               "backbone_share": round(backbone_s / step_s, 3), "prroi_pool_share": round(pool_s / step_s, 3),
               "iou_net_rest_share": round(iou_net_s / step_s, 3)}
    print(f"atom_default training step, batch {args.batch} pairs x 16 proposals, 288x288, on {device}")
    print(f"  step {step_s * 1000:.0f} ms = {args.batch / step_s:.1f} samples/s")
    for name, value in (("backbone (frozen, forward)", backbone_s), ("RoI pooling (fwd + bwd)", pool_s),
                        ("IoU-Net rest (fwd + bwd + Adam)", iou_net_s)):
        print(f"  {name:<32} {value * 1000:8.1f} ms  {value / step_s:5.1%}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
