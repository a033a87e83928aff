"""FairMOT's training defaults (``src/lib/opts.py``, ``src/train.py``, ``src/lib/trains/``), which
every FairMOT recipe starts from; run alone it trains with FairMOT's default data config::

    python ltr/run_training.py fairmot base
    torchrun --nproc_per_node 2 ltr/run_training.py fairmot base --set batch_size=6

As published:

- data: a FairMOT data config JSON (``data_config``, default ``data.json``: MIX) read from the
  ``jde_data_dir`` folder (admin/local.py; e.g. FairMOT's ``src/lib/cfg/*.json`` copied there with
  its ``src/data/*.train`` lists under ``<jde_data_dir>/data/``, as the configs name them); the
  images under the config's ``root``, or ``jde_root`` when set. Identities are offset per dataset
  and ``nID`` is their count + 1 (:class:`~ltr.dataset.mot.jde.JdeDataset`, FairMOT's JointDataset);
- the pipeline of :mod:`ltr.data.fairmot` at 1088 x 608: HSV (0.5), letterbox, random affine
  (degrees +-5, translate 0.1, scale 0.5-1.2, shear +-2), flip 0.5; targets for K = 500 objects;
- ``dla_34`` (``fairmot_dla_34``: reid_dim 128, head_conv 256, ltrb), started from
  ``load_model`` (``ctdet_coco_dla_2x.pth``, CenterNet's COCO model, as every DLA experiment);
- FairMOT's loss (:class:`~ltr.models.loss.fairmot.FairMOTLoss`: hm 1, wh 0.1, off 1,
  uncertainty weights from -1.85 and -1.05), whose parameters join the optimiser;
- Adam, lr 1e-4, batch 12, 30 epochs, the rate times 0.1 after epoch 20 (``--lr_step 20``).

``batch_size`` is per rank, as in every recipe here: FairMOT's 12 is its total batch split over
its GPUs by DataParallel, which one process reproduces; with torchrun on N GPUs pass
``--set batch_size=<12 / N>``. Each rank trains on every N-th image (its share, shuffled per epoch).
FairMOT's seed 317 is ``--seed 317`` here (default 0).

``configure`` sets the values, ``training_data`` reads the data, ``train`` builds and runs
everything: a variant calls them and changes what differs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch

from ltr.actors import FairMOTActor
from ltr.data.fairmot import FairMOTSamples
from ltr.data.loader import LTRLoader
from ltr.dataset.mot.jde import JdeDataset
from ltr.models.fairmot.convert import fairmot_state_dict, read_weights
from ltr.models.loss.fairmot import FairMOTLoss, fairmot_num_ids
from ltr.models.registry import build_network
from ltr.trainers import LTRTrainer

logger = logging.getLogger(__name__)

COCO_CENTERNET = "ctdet_coco_dla_2x.pth"  # CenterNet's COCO DLA-34: the start of FairMOT's DLA experiments


class WeightsNotFoundError(FileNotFoundError):
    """The weights a recipe starts from are in neither network_path nor pretrained_networks."""


def configure(settings) -> None:
    """FairMOT's defaults (opts.py) and the DLA-34 experiments' start."""
    settings.batch_size = 12
    settings.num_workers = 8
    settings.epochs = 30
    settings.learning_rate = 1e-4
    settings.lr_milestones = [20]
    settings.lr_gamma = 0.1
    settings.print_interval = 50
    settings.input_size = [1088, 608]  # width, height
    settings.network = "fairmot_dla_34"
    settings.network_kwargs = {"num_classes": 1, "reid_dim": 128, "head_conv": 256, "ltrb": True}
    settings.max_objs = 500
    settings.hsv_fraction = 0.5
    settings.affine = {"degrees": [-5, 5], "translate": [0.1, 0.1], "scale": [0.5, 1.2], "shear": [-2, 2]}
    settings.flip_probability = 0.5
    settings.clip_boxes = False
    settings.objective_kwargs = {"hm_weight": 1.0, "wh_weight": 0.1, "off_weight": 1.0, "s_det": -1.85,
                                 "s_id": -1.05}
    settings.data_config = "data.json"
    settings.load_model = COCO_CENTERNET


def data_config_path(settings) -> Path:
    """``settings.data_config``: a path, or a file name in ``jde_data_dir``."""
    name = Path(settings.data_config)
    path = name if name.is_absolute() else Path(settings.env.jde_data_dir) / name
    if not path.is_file():
        raise FileNotFoundError(f"FairMOT data config {path} is missing: put FairMOT's src/lib/cfg/{name.name} there "
                                f"(and the list files it names), or pass another with --set data_config=PATH")
    return path


def training_data(settings) -> JdeDataset:
    """The 'train' section of the data config; images under ``jde_root`` when it is set, else
    under the config's ``root``."""
    root = settings.env.value("jde_root")
    return JdeDataset(data_config_path(settings), root=root, section="train")


def weights_path(settings, name: str) -> Path:
    """``name`` in ``network_path`` or else ``pretrained_networks`` (an absolute path as given)."""
    if Path(name).is_absolute():
        candidates = [Path(name)]
    else:
        candidates = [Path(settings.env.value(field)) / name for field in ("network_path", "pretrained_networks")
                      if settings.env.value(field)]
    for path in candidates:
        if path.is_file():
            return path
    raise WeightsNotFoundError(
        f"{settings.project_path} starts from {name}, which is in neither "
        f"{' nor '.join(str(p.parent) for p in candidates)}: put it in network_path or pretrained_networks "
        f"(admin/local.py), train the recipe that writes it, or start without it: --set load_model=None")


def load_initial_weights(net: torch.nn.Module, path: Path) -> dict[str, list[str]]:
    """FairMOT's ``load_model`` (``src/lib/models/model.py``) without the optimiser: the weights of
    a released FairMOT/CenterNet file (``{'epoch', 'state_dict'}``, ``module.`` prefixes removed)
    or of a checkpoint of this toolkit (its ``net``); a weight of another shape (CenterNet's 80-class
    ``hm``) or missing from the file keeps its initial value, one the network lacks is dropped, each
    group logged. Returns the keys ``{"skipped": ..., "dropped": ..., "missing": ...}``."""
    content, name = read_weights(path)
    if isinstance(content, Mapping) and isinstance(content.get("net"), Mapping):
        content = content["net"]  # a checkpoint of this toolkit
    state, _ = fairmot_state_dict(content, name)
    own = net.state_dict()
    report = {"skipped": [], "dropped": [], "missing": []}
    for key in list(state):
        if key not in own:
            report["dropped"].append(key)
            del state[key]
        elif state[key].shape != own[key].shape:
            report["skipped"].append(key)
            state[key] = own[key]
    for key in own:
        if key not in state:
            report["missing"].append(key)
            state[key] = own[key]
    net.load_state_dict(state)
    logger.info("network starts from %s: %d weights loaded", path, len(own) - len(report["skipped"]) - len(report["missing"]))
    for what, keys in report.items():
        if keys:
            logger.warning("%s: %d weights %s (%s%s)", path, len(keys), {
                "skipped": "of another shape keep their initial values", "dropped": "the network lacks are dropped",
                "missing": "missing from the file keep their initial values"}[what], ", ".join(keys[:4]),
                ", ..." if len(keys) > 4 else "")
    return report


def build_objective(settings, net: torch.nn.Module, source: JdeDataset) -> FairMOTLoss:
    reid_dim = getattr(net, "heads", {}).get("id") or settings.network_kwargs.get("reid_dim", 128)
    return FairMOTLoss(num_ids=fairmot_num_ids(source.num_identities), reid_dim=reid_dim,
                       **settings.objective_kwargs)


def train(settings, data=training_data) -> LTRTrainer:
    """Build loader, network, loss, actor, optimiser and schedule from ``settings`` and train."""
    source = data(settings)
    samples = FairMOTSamples(source, input_size=settings.input_size, hsv_fraction=settings.hsv_fraction,
                             flip_probability=settings.flip_probability, clip_boxes=settings.clip_boxes,
                             max_objs=settings.max_objs, ltrb=settings.network_kwargs.get("ltrb", True),
                             rank=settings.rank, world_size=settings.world_size, **settings.affine)
    loader = LTRLoader("train", samples, training=True, batch_size=settings.batch_size,
                       num_workers=settings.num_workers, shuffle=True, drop_last=True, seed=settings.seed)
    torch.manual_seed(settings.seed)
    net = build_network(settings.network, settings.network_kwargs)
    if settings.load_model:
        load_initial_weights(net, weights_path(settings, settings.load_model))
    objective = build_objective(settings, net, source)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)
    optimizer.add_param_group({"params": objective.parameters()})  # FairMOT's BaseTrainer does the same
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(settings.lr_milestones),
                                                     gamma=settings.lr_gamma)
    trainer = LTRTrainer(FairMOTActor(net, objective), [loader], optimizer, settings, scheduler)
    trainer.train(settings.epochs, load_latest=settings.resume)
    return trainer


def run(settings) -> None:
    configure(settings)
    train(settings)
