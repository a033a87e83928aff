"""House rule: a box changes layout only through ``ltr/data/boxes.py``.

The detector reads the syntax tree of every tracked library file and flags arithmetic that
converts between box layouts by hand:

- a corner or centre shifted by half a size: ``x + 0.5 * w``, ``pos - sz / 2``,
  ``pos - (sz - 1) / 2``, ``box[:2] + box[2:] / 2``;
- the two halves of one box combined: ``box[:2] + box[2:]``, ``b[..., 2:] - b[..., :2]``,
  ``box[0] + box[2]``;
- a corner and a size added, or two corners subtracted, by name: ``x + w``, ``x1 - x0``.

What is allowed is allowed by name, with the reason, in ``ALLOWED``.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOX_MODULE = "ltr/data/boxes.py"
# external/ may import nothing of ours (DESIGN.md), so its op keeps its own corner arithmetic.
SCANNED = ("admin", "ltr", "pytracking", "benchmarks")

# (path, function) -> why the conversion stays there.
ALLOWED = {
    ("pytracking/analysis/metrics.py", "inclusive_iou"):
        "the published OTB protocol's inclusive-pixel IoU (x .. x + w - 1), which the scores need",
    ("pytracking/analysis/metrics.py", "inclusive_centre_error"):
        "the published OTB protocol's inclusive-pixel centre",
    ("pytracking/features/preprocessing.py", "_whole_pixel_span"):
        "the published crop's end pixel, trunc(pos + size / 2 + 1), is no box layout",
}

POSITION_NAMES = {"x", "y", "x0", "y0", "cx", "cy", "px", "py", "pos", "position", "centre", "center",
                  "corner", "left", "top"}
SIZE_NAMES = {"w", "h", "pw", "ph", "cw", "ch", "width", "height", "sz", "size", "sizes", "target_sz",
              "box_size", "side"}
FAR_CORNER_NAMES = {("x1", "x0"), ("y1", "y0"), ("right", "left"), ("bottom", "top")}


def _identifier(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_constant(node: ast.AST, *values: float) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value in values


def _half_of_box(node: ast.Subscript) -> str | None:
    """'first' for box[:2], box[..., :2], box[:, :2], box[0], box[1]; 'second' for the size half."""
    index = node.slice
    if isinstance(index, ast.Tuple) and index.elts:
        index = index.elts[-1]
    if isinstance(index, ast.Slice) and index.step is None:
        if index.lower is None and _is_constant(index.upper, 2):
            return "first"
        if _is_constant(index.lower, 2) and index.upper is None:
            return "second"
    if _is_constant(index, 0, 1):
        return "first"
    if _is_constant(index, 2, 3):
        return "second"
    return None


def _position_like(node: ast.AST) -> bool:
    if isinstance(node, ast.Subscript):
        return _half_of_box(node) == "first"
    return _identifier(node) in POSITION_NAMES


def _size_like(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and _is_constant(node.right, 1):
        node = node.left  # size - 1, the pixel-index convention
    if isinstance(node, ast.Subscript):
        return _half_of_box(node) == "second"
    return _identifier(node) in SIZE_NAMES


def _half(node: ast.AST) -> ast.AST | None:
    """The operand of ``e / 2``, ``0.5 * e`` or ``e * 0.5``."""
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Div) and _is_constant(node.right, 2):
            return node.left
        if isinstance(node.op, ast.Mult):
            if _is_constant(node.left, 0.5):
                return node.right
            if _is_constant(node.right, 0.5):
                return node.left
    return None


def _same(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a) == ast.dump(b)


def _pair_index(node: ast.Subscript) -> tuple[str, int] | None:
    """(kind, i) for box[i] / box[..., i] / box[:, i]."""
    index = node.slice
    if isinstance(index, ast.Tuple) and index.elts:
        index = index.elts[-1]
    if isinstance(index, ast.Constant) and index.value in (0, 1, 2, 3):
        return "index", index.value
    return None


def hand_conversion(node: ast.AST) -> str | None:
    """Why ``node`` is a box layout change written by hand, or None."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub))):
        return None
    left, right = node.left, node.right
    for position, other in ((left, right), (right, left)):
        if isinstance(node.op, ast.Sub) and position is right:
            continue  # half - position is no centre or corner
        half = _half(other)
        if half is not None and _position_like(position) and _size_like(half):
            return "a corner or centre moved by half a size"
    if isinstance(left, ast.Subscript) and isinstance(right, ast.Subscript) and _same(left.value, right.value):
        halves = _half_of_box(left), _half_of_box(right)
        pairs = _pair_index(left), _pair_index(right)
        if halves in (("first", "second"), ("second", "first")):
            if pairs == (None, None) or (pairs[0] and pairs[1] and abs(pairs[0][1] - pairs[1][1]) == 2):
                return "the corner and size halves of one box combined"
    names = _identifier(left), _identifier(right)
    if isinstance(node.op, ast.Add) and ((names[0] in POSITION_NAMES and names[1] in SIZE_NAMES)
                                         or (names[1] in POSITION_NAMES and names[0] in SIZE_NAMES)):
        return "a corner and a size added"
    if isinstance(node.op, ast.Sub) and names in FAR_CORNER_NAMES:
        return "a size from two corners"
    return None


def offenders(source: str, path: str = "<snippet>") -> list[str]:
    """'path:line: reason' for each hand conversion outside the allowed functions."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        reason = hand_conversion(node)
        if reason and (path, function) not in ALLOWED:
            found.append(f"{path}:{node.lineno}: {reason}: {ast.unparse(node)}")
            return  # one report per expression
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), None)
    return found


def library_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.split()
    return [p for p in listed if p.split("/")[0] in SCANNED and p != BOX_MODULE
            and (REPO / p).exists()]


def test_no_box_conversion_by_hand():
    files = library_files()
    assert files
    found = [line for path in files for line in offenders((REPO / path).read_text(), path)]
    assert not found, "use ltr.data.boxes instead of:\n" + "\n".join(found)


def test_detector_flags_hand_conversions():
    snippets = [
        "c = x + 0.5 * w",
        "corner = pos - sz / 2",
        "corner = pos - (target_sz - 1) / 2",
        "c = box[:2] + box[2:] / 2",
        "far = box[..., :2] + box[..., 2:]",
        "size = b[:, 2:] - b[:, :2]",
        "right = box[0] + box[2]",
        "x1 = x + w",
        "w = x1 - x0",
        "c = self.pos + self.target_sz * 0.5",
    ]
    for snippet in snippets:
        assert offenders(snippet), snippet


def test_detector_passes_other_arithmetic():
    snippets = [
        "coordinates = torch.arange(n) - (size - 1) / 2",  # a grid's middle, no box
        "offset = (left + 0.5 * side * scale / out - source_x) / block - 0.5",
        "corners = xywh_to_xyxy(box)",
        "pad = (output_sz - width) / 2",
        "d = a[:2] + b[2:]",  # halves of two different boxes
        "i = box[0] + box[1]",
        "z = x + y",
    ]
    for snippet in snippets:
        assert not offenders(snippet), snippet


def test_allowed_functions_exist():
    """An allowance outlives nothing: each names a function that is still there."""
    for path, function in ALLOWED:
        tree = ast.parse((REPO / path).read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == function for n in ast.walk(tree)), (path, function)
