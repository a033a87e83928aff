import json
from pathlib import Path

import pytest

from admin.environment import EnvironmentPathError
from ltr.data.image_loader import ImageReadError, LazyFrame
from ltr.dataset import ImagenetVID
from ltr.dataset import imagenetvid as imagenetvid_module

WIDTH, HEIGHT = 40, 30
DOG, BIRD, CAR = "n02084071", "n01503061", "n02958343"
# video: {frame: [(trackid, name, (xmin, xmax, ymin, ymax), occluded or None)]}
VIDEOS = {
    "ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000": {
        0: [(0, DOG, (2, 12, 3, 9), 0), (2, CAR, (0, 36, 0, 27), None)],
        1: [(0, DOG, (3, 13, 3, 9), 0), (1, BIRD, (20, 24, 5, 8), 0), (2, CAR, (0, 36, 0, 27), None)],
        2: [(0, DOG, (4, 14, 3, 9), 1), (1, BIRD, (21, 25, 5, 8), 1)],
        3: [(0, DOG, (5, 15, 3, 9), 0)],
        4: [(0, DOG, (6, 16, 3, 9), 0), (1, BIRD, (23, 27, 5, 8), 0)],
    },
    "ILSVRC2015_VID_train_0001/ILSVRC2015_train_00100000": {
        0: [(3, BIRD, (1, 5, 1, 5), 0)],
        1: [(3, BIRD, (2, 6, 1, 5), 0)],
        2: [],
    },
}


def annotation_xml(objects) -> str:
    parts = [f"<annotation><folder>x</folder><size><width>{WIDTH}</width><height>{HEIGHT}</height></size>"]
    for track, name, (x0, x1, y0, y1), occluded in objects:
        flag = "" if occluded is None else f"<occluded>{occluded}</occluded>"
        parts.append(f"<object><trackid>{track}</trackid><name>{name}</name><bndbox><xmax>{x1}</xmax>"
                     f"<xmin>{x0}</xmin><ymax>{y1}</ymax><ymin>{y0}</ymin></bndbox>{flag}<generated>0</generated></object>")
    return "".join(parts) + "</annotation>\n"


def write_video(root: Path, video: str, index: int, content: dict, frames) -> None:
    for frame, objects in content.items():
        path = root / "Annotations" / "VID" / "train" / video / f"{frame:06d}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(annotation_xml(objects))
        frames.write_frame(root / "Data" / "VID" / "train" / video / f"{frame:06d}.JPEG",
                           frames.colour(index, frame), size=(WIDTH, HEIGHT))


@pytest.fixture
def root(tmp_path, frames, clean_env) -> Path:
    root = tmp_path / "ILSVRC2015"
    for index, (video, content) in enumerate(VIDEOS.items()):
        write_video(root, video, index, content, frames)
    return root


def fail_parsing(monkeypatch):
    def parse(path):
        raise AssertionError(f"parsed {path} although the cache is there")
    monkeypatch.setattr(imagenetvid_module, "parse_annotation", parse)


def test_one_sequence_per_track(root):
    dataset = ImagenetVID(str(root))
    assert dataset.get_name() == "imagenetvid"
    names = [dataset.get_sequence_name(i) for i in range(len(dataset))]
    assert names == ["ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000 track 0",
                     "ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000 track 1",
                     "ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000 track 2",
                     "ILSVRC2015_VID_train_0001/ILSVRC2015_train_00100000 track 3"]
    dog = dataset.get_sequence_info(0)
    assert dog["bbox"].shape == (5, 4)
    assert dog["bbox"][0].tolist() == [2, 3, 10, 6]
    assert dog["valid"].all()
    assert dog["visible"].tolist() == [True, True, False, True, True]
    # The bird starts at frame 1 and is missing from frame 3.
    bird = dataset.get_sequence_info(1)
    assert bird["bbox"].shape == (4, 4)
    assert bird["bbox"][0].tolist() == [20, 5, 4, 3]
    assert bird["valid"].tolist() == [True, True, False, True]
    assert bird["visible"].tolist() == [True, False, False, True]
    # No <occluded> tag: visible.
    assert dataset.get_sequence_info(2)["visible"].tolist() == [True, True]


def test_frames_start_at_the_tracks_first_frame(root, frames):
    dataset = ImagenetVID(str(root))
    video = root / "Data" / "VID" / "train" / "ILSVRC2015_VID_train_0000" / "ILSVRC2015_train_00000000"
    assert dataset.frame_path(1, 0) == str(video / "000001.JPEG")
    images, anno, meta = dataset.get_frames(1, [3, 0])
    frames.assert_frame(images[0], frames.colour(0, 4), size=(WIDTH, HEIGHT))
    frames.assert_frame(images[1], frames.colour(0, 1), size=(WIDTH, HEIGHT))
    assert anno["bbox"][0].tolist() == [23, 5, 4, 3]
    assert meta["object_class_name"] == BIRD
    lazy, _, _ = dataset.get_frames(1, [3], lazy=True)
    assert isinstance(lazy[0], LazyFrame) and (lazy[0].load()[0] == images[0]).all()


def test_classes(root):
    dataset = ImagenetVID(str(root))
    assert dataset.has_class_info() and dataset.has_occlusion_info()
    assert dataset.get_class_list() == sorted([BIRD, CAR, DOG])
    assert dataset.get_sequences_in_class(BIRD) == [1, 3]


def test_filters_apply_to_the_cached_tracks(root, monkeypatch):
    assert len(ImagenetVID(str(root))) == 4
    assert (root / "cache.json").is_file()
    fail_parsing(monkeypatch)
    # Track lengths: dog 5, bird 4, car 2, bird 2 (frames 0..1 of a 3-frame video).
    longest = ImagenetVID(str(root), min_length=5)
    assert len(longest) == 1 and longest.get_meta_info(0)["object_class_name"] == DOG
    assert len(ImagenetVID(str(root), min_length=4)) == 2
    assert len(ImagenetVID(str(root), min_length=3)) == 2
    # The car covers 36 * 27 / (40 * 30) = 0.81 of the image.
    large = ImagenetVID(str(root), max_target_area=0.8)
    assert len(large) == 3 and CAR not in large.get_class_list()
    assert len(ImagenetVID(str(root), max_target_area=0.82)) == 4


def test_cache_is_written_once_and_reused(root, monkeypatch):
    first = ImagenetVID(str(root))
    cache = root / "cache.json"
    data = json.loads(cache.read_text())
    assert data["format_version"] == imagenetvid_module.CACHE_VERSION and len(data["sequences"]) == 4
    stamp = cache.stat().st_mtime_ns
    fail_parsing(monkeypatch)
    second = ImagenetVID(str(root))
    assert cache.stat().st_mtime_ns == stamp
    for seq in range(len(first)):
        for key, value in first.get_sequence_info(seq).items():
            assert second.get_sequence_info(seq)[key].tolist() == value.tolist()
        assert second.frame_path(seq, 1) == first.frame_path(seq, 1)


def test_cache_is_rebuilt_when_videos_or_format_change(root, frames, monkeypatch):
    ImagenetVID(str(root))
    write_video(root, "ILSVRC2015_VID_train_0001/ILSVRC2015_train_00100001", 5, {0: [(0, DOG, (1, 5, 1, 5), 0)]}, frames)
    assert len(ImagenetVID(str(root))) == 5
    monkeypatch.setattr(imagenetvid_module, "CACHE_VERSION", imagenetvid_module.CACHE_VERSION + 1)
    parsed = []
    original = imagenetvid_module.parse_annotation
    monkeypatch.setattr(imagenetvid_module, "parse_annotation", lambda path: parsed.append(path) or original(path))
    assert len(ImagenetVID(str(root))) == 5
    assert len(parsed) == 9
    assert json.loads((root / "cache.json").read_text())["format_version"] == imagenetvid_module.CACHE_VERSION


def test_cache_goes_to_the_workspace_when_root_is_not_writable(root, clean_env, monkeypatch):
    original = imagenetvid_module.atomic_write_text

    def refuse_root(path, text):
        if Path(path).parent == root:
            raise PermissionError(13, "Permission denied", str(path))
        original(path, text)

    monkeypatch.setattr(imagenetvid_module, "atomic_write_text", refuse_root)
    assert len(ImagenetVID(str(root))) == 4
    assert not (root / "cache.json").exists()
    cached = list(clean_env.glob("imagenetvid_cache_*.json"))
    assert len(cached) == 1
    fail_parsing(monkeypatch)
    assert len(ImagenetVID(str(root))) == 4


def test_another_tools_cache_is_left_alone(root, clean_env):
    foreign = {"sequences": "written by pytracking"}
    (root / "cache.json").write_text(json.dumps(foreign))
    assert len(ImagenetVID(str(root))) == 4
    assert json.loads((root / "cache.json").read_text()) == foreign
    assert len(list(clean_env.glob("imagenetvid_cache_*.json"))) == 1


def test_errors(root, tmp_path, monkeypatch):
    with pytest.raises(EnvironmentPathError, match="imagenet_dir.*TRACKING_IMAGENET_DIR"):
        ImagenetVID()
    with pytest.raises(FileNotFoundError, match="Annotations/VID/train is missing"):
        ImagenetVID(str(tmp_path))
    broken = root / "Annotations" / "VID" / "train" / "ILSVRC2015_VID_train_0001" / "ILSVRC2015_train_00100000" / "000001.xml"
    broken.write_text("<annotation><size><width>40</width>\n<height>30</height></size><object>\n</annotation>")
    with pytest.raises(ValueError, match=rf"{broken}, line 3"):
        ImagenetVID(str(root))
    broken.write_text(annotation_xml([(3, BIRD, ("a", 6, 1, 5), 0)]))
    with pytest.raises(ValueError, match=rf"{broken}: object 1"):
        ImagenetVID(str(root))
    broken.write_text(annotation_xml([(3, BIRD, (2, 6, 1, 5), 0)]))
    dataset = ImagenetVID(str(root))
    missing = Path(dataset.frame_path(3, 1))
    missing.unlink()
    with pytest.raises(ImageReadError, match=str(missing)):
        dataset.get_frames(3, [1])
