"""The explorer page and diffs, read as data: what the page embeds, how big graphs are boxed, what a diff marks.

What the page does with that data in a browser is tests/test_viz_browser.py's business.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import graphviz
import numpy as np
import pytest

from tinygrad_mnist import Tensor, cross_entropy, nn, optim
from tinygrad_mnist.checkpoint import save_checkpoint
from tinygrad_mnist.cli import main
from tinygrad_mnist.recipes import Recipe
from tinygrad_mnist.viz import GraphvizNotFoundError, draw_diff, draw_graph, draw_model, render
from tinygrad_mnist.viz import explorer as explorer_module
from tinygrad_mnist.viz.boxes import CHUNK_PAST, Boxes
from tinygrad_mnist.viz.views import view_nodes

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="the explorer's layouts need Graphviz's dot")


def page_data(page: str) -> dict:
    """The JSON a page embeds, plain or gzipped in base64."""
    kind, text = re.search(r'<script type="([^"]+)" id="graph-data">(.*?)</script>', page, re.S).groups()
    if kind == "application/json":
        return json.loads(text.replace("<\\/", "</"))
    return json.loads(gzip.decompress(base64.b64decode(text)))


def notebook_model() -> nn.Sequential:
    return nn.init.notebook_(nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10)))


def batch(seed: int, m: int = 8) -> tuple[Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    return Tensor(rng.random((m, 784), dtype=np.float32)), rng.integers(0, 10, m)


def relu_chain(length: int) -> Tensor:
    y = Tensor(np.ones(2, np.float32), requires_grad=True)
    for _ in range(length):
        y = y.relu()
    return y.sum()


def test_the_page_is_one_file_that_needs_no_network(tmp_path):
    page = render(draw_model(notebook_model(), *batch(0), show_grad=True), tmp_path / "graph.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "<script>" in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(?!data:)", page)  # nothing fetched
    assert set(re.findall(r"https?://[^\s\"'`)]+", page)) <= {"http://www.w3.org/2000/svg"}  # the SVG namespace only


def test_the_page_has_every_node_and_each_shown_node_in_exactly_one_box_layout_per_view(tmp_path):
    picture = draw_model(notebook_model(), *batch(1), show_grad=True)
    data = page_data(picture.explorer())
    assert set(data["nodes"]) == set(picture.record.nodes)
    assert data["views"] == ["forward", "backward", "both"]
    for view in data["views"]:
        placed = [key for level in data["layouts"][view].values() for key in level["items"] if key[0] != "m"]
        assert sorted(placed) == sorted(n.id for n in view_nodes(picture.record, view))
        for level in data["layouts"][view].values():
            for x, y, w, h in level["items"].values():  # every item inside its box's layout
                assert min(x - w / 2, y - h / 2) >= -1 and x + w / 2 <= level["w"] + 1 and y + h / 2 <= level["h"] + 1
    weight = next(n for n in data["nodes"].values() if n.get("n") == "0.weight")
    assert weight["s"] == [10, 784] and weight["g"][5] == pytest.approx(
        next(n for n in picture.record.nodes.values() if n.name == "0.weight").grad.norm, rel=1e-3
    )


def test_a_big_page_embeds_its_data_gzipped_and_it_reads_back_the_same(monkeypatch):
    picture = draw_graph(relu_chain(50))
    plain = page_data(picture.explorer())
    monkeypatch.setattr(explorer_module, "COMPRESS_PAST", 0)
    packed = picture.explorer()
    assert 'type="application/gzip-base64"' in packed
    assert page_data(packed) == plain


def test_a_box_with_too_many_items_is_cut_into_chunks_that_open_folded():
    picture = draw_graph(relu_chain(2_000))
    boxes = Boxes(picture.record)
    assert len(boxes.synthetic) >= 2_000 // CHUNK_PAST
    direct: dict[int | None, set] = {}
    for node in view_nodes(picture.record, "forward"):
        path = boxes.node_path(node.id)
        for depth in range(len(path) + 1):
            direct.setdefault(path[depth - 1] if depth else None, set()).add(
                path[depth] if depth < len(path) else node.id
            )
    assert max(len(items) for items in direct.values()) <= CHUNK_PAST
    assert all(boxes.node_path(n.id) for n in picture.record.of_kind("op"))  # every op is in a chunk
    data = page_data(picture.explorer())
    assert data["open"] == []  # folded: only the chunks show
    small = page_data(draw_model(notebook_model(), *batch(2)).explorer())
    assert small["open"] == [m.index for m in draw_model(notebook_model(), *batch(2)).record.modules if m.boxed]


def test_repeated_blocks_are_rolled_up_into_one_box_that_opens_folded():
    pair = lambda: [nn.Linear(8, 8), nn.ReLU()]  # noqa: E731
    blocks = [nn.Sequential(*pair(), *pair(), *pair(), *pair()) for _ in range(6)]
    model = nn.Sequential(nn.Linear(784, 8), *blocks, nn.Linear(8, 10))
    picture = draw_model(model, *batch(8), show_grad=True)
    boxes = Boxes(picture.record)
    labels = Counter(boxes.labels[k] for k in boxes.rolls)
    assert labels == {"Sequential x 6": 1, "(Linear(8→8), ReLU) x 4": 6}  # the six blocks, and each one's four pairs
    (outer,) = [k for k in boxes.rolls if boxes.labels[k] == "Sequential x 6"]
    inside = [k for k in range(len(boxes.parent)) if boxes.parent[k] == outer]
    assert sorted(picture.record.modules[k].name for k in inside) == [str(i) for i in range(1, 7)]
    data = page_data(picture.explorer())
    ends = {m.index for m in picture.record.modules if m.name in ("0", "7")}  # the first and last Linear
    assert not boxes.rolls & set(data["open"]) and ends <= set(data["open"])  # rolls start folded, the rest open
    assert all(boxes.node_path(n.id)[0] == outer for n in picture.record.of_kind("op") if n.module in inside)
    assert boxes.node_path(next(n.id for n in picture.record.nodes.values() if n.name == "input")) == []


def test_jupyter_shows_the_explorer_inline_in_an_iframe_of_its_own():
    picture = draw_model(notebook_model(), *batch(3))
    bundle = picture._repr_mimebundle_()
    frame = bundle["text/html"]
    assert frame.startswith('<iframe srcdoc="') and "width: 100%" in frame
    page = html.unescape(re.search(r'srcdoc="(.*?)" style', frame, re.S).group(1))
    assert page_data(page) == page_data(picture.explorer())
    assert "<svg" in bundle["image/svg+xml"]  # a small graph carries its static picture, for viewers without scripts
    assert set(picture._repr_mimebundle_(include=["image/svg+xml"])) == {"image/svg+xml"}
    assert "image/svg+xml" not in draw_graph(relu_chain(500))._repr_mimebundle_()  # too big to draw whole each time


def test_the_explorer_needs_a_picture_from_draw_and_dot(tmp_path, monkeypatch):
    with pytest.raises(TypeError, match="draw_graph or draw_model"):
        render(graphviz.Digraph(), tmp_path / "plain.html")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    picture = draw_graph(relu_chain(3))
    with pytest.raises(GraphvizNotFoundError, match=r"apt-get install graphviz") as error:
        render(picture, tmp_path / "graph.html")
    assert str(tmp_path / "graph.dot") in str(error.value) and (tmp_path / "graph.dot").read_text() == picture.source
    assert not (tmp_path / "graph.html").exists()


# ----- diffs --------------------------------------------------------------------------------


def trained_copy(model: nn.Sequential, layer: int, seed: int) -> nn.Sequential:
    """A copy of ``model`` with three SGD steps taken on ``layer``'s parameters only."""
    after = nn.Sequential(
        *(type(m)(m.in_features, m.out_features) if isinstance(m, nn.Linear) else nn.ReLU() for m in model)
    )
    after.load_state_dict(model.state_dict())
    x, y = batch(seed, m=16)
    sgd = optim.SGD(list(after[layer].parameters()), lr=0.5)
    for _ in range(3):
        loss = cross_entropy(after(x), y)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    return after


def test_a_diff_marks_the_layer_that_moved_and_how_far_each_parameter_went():
    before = notebook_model()
    after = trained_copy(before, 2, seed=4)
    picture = draw_diff(before, after, *batch(5))
    record = picture.record
    changed = {m.name for m in record.modules if m.change is not None and m.change.status == "changed"}
    assert changed == {"2"}
    old = dict(before.named_parameters())
    for name, p in after.named_parameters():
        node = next(n for n in record.nodes.values() if n.name == name)
        assert node.change.status == ("changed" if name.startswith("2.") else "same")
        distance = np.linalg.norm(p.numpy().astype(np.float64) - old[name].numpy())
        if name == "2.weight":
            assert node.change.summary == f"moved {distance / np.linalg.norm(old[name].numpy()):.2%}"
            assert any(what == "|grad| ratio" for what, _ in node.change.details)
        if name == "2.bias":  # the notebook's biases start at zero: no relative change
            assert node.change.summary == f"moved {distance:.2e} from 0"
    assert "moved" in picture.source and "2: Linear(10→10) (2 changed inside)" in picture.source
    data = page_data(picture.explorer())
    assert data["diff"] and data["modules"][2]["change"]["status"] == "changed"


def test_a_diff_of_two_architectures_marks_what_was_added_removed_and_reshaped():
    before = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))
    after = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10), nn.ReLU(), nn.Linear(10, 10))
    record = draw_diff(before, after, *batch(6)).record
    summary = {n.name: n.change.summary for n in record.nodes.values() if n.kind == "parameter"}
    assert {name: text for name, text in summary.items() if not text.startswith("moved")} == {
        "0.weight": "shape changed", "0.bias": "shape changed",  # 784-10 became 784-16
        "2.weight": "shape changed",  # 10x10 became 10x16; 2.bias is still (10,): its values moved
        "4.weight": "added", "4.bias": "added",
    }  # fmt: skip
    removed = [n for n in record.nodes.values() if n.change is not None and n.change.status == "removed"]
    assert not removed  # every node of the smaller graph has a match in the bigger one
    shrunk = draw_diff(after, before, *batch(6)).record
    assert {n.name for n in shrunk.nodes.values() if n.change is not None and n.change.status == "removed"} >= {
        "4.weight",
        "4.bias",
    }
    assert all(n.id.startswith("x") for n in shrunk.nodes.values() if n.change and n.change.status == "removed")


def test_graph_diff_draws_two_checkpoints_and_refuses_to_write_over_one(tmp_path):
    before = notebook_model()
    first = save_checkpoint(tmp_path / "a.safetensors", before, preprocessing=Recipe().preprocessing())
    second = save_checkpoint(
        tmp_path / "b.safetensors", trained_copy(before, 0, seed=7), preprocessing=Recipe().preprocessing()
    )
    out = tmp_path / "diff.html"
    assert main(["graph", "--diff", str(first), str(second), "-o", str(out), "--quiet"]) == 0
    data = page_data(out.read_text())
    assert [m["name"] for m in data["modules"] if m.get("change", {}).get("status") == "changed"] == ["0"]
    original = first.read_bytes()
    with pytest.raises(SystemExit) as exit_status:
        main(["graph", "--diff", str(first), str(second), "-o", str(first), "--quiet"])
    assert exit_status.value.code == 2 and first.read_bytes() == original
    assert main(["graph", "--diff", str(first), str(tmp_path / "missing.safetensors"), "-o", str(out)]) == 1


def test_graph_writes_the_explorer_for_an_html_name(tmp_path):
    out = tmp_path / "graph.html"
    assert main(["graph", "--layers", "784,10,10", "--grad", "--view", "both", "-o", str(out), "--quiet"]) == 0
    data = page_data(out.read_text())
    assert data["view"] == "both" and data["hasGrad"]
    assert {n["k"] for n in data["nodes"].values()} >= {"op", "parameter", "backward"}


def test_page_data_is_read_back_by_this_helper(tmp_path):
    """The helper above reads both embeddings: checked on a file as the command writes it."""
    page = Path(render(draw_graph(relu_chain(5)), tmp_path / "chain.html")).read_text()
    assert len(page_data(page)["nodes"]) == 5 + 1 + 1 + 6  # five ReLUs, the sum, the leaf, six backward steps
