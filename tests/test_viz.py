"""Graph pictures: the drawn graph is exactly the recorded graph, rendered for real by Graphviz."""

from __future__ import annotations

import gc
import os
import re
import shutil
import weakref
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, cross_entropy, nn, no_grad, topological_order
from tinygrad_mnist.recipes import RECIPES, build_model
from tinygrad_mnist.viz import GraphvizNotFoundError, draw_graph, draw_model, render
from tinygrad_mnist.viz.colour import FLAG_COLOURS, PALETTE

NODE = re.compile(r"^\s*(\w+) \[(.*)\]$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+)")
ATTRIBUTE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')


def parse(source: str) -> tuple[dict[str, dict[str, str]], Counter[tuple[str, str]]]:
    """Nodes (id -> attributes) and edges (a multiset) of DOT source written by ``draw_graph``."""
    nodes: dict[str, dict[str, str]] = {}
    edges: Counter[tuple[str, str]] = Counter()
    for line in source.splitlines():
        if edge := EDGE.match(line):
            edges[edge.groups()] += 1
        elif (node := NODE.match(line)) and node.group(1) not in ("graph", "node", "edge"):
            assert node.group(1) not in nodes, f"node {node.group(1)} drawn twice"
            nodes[node.group(1)] = {key: value.strip('"') for key, value in ATTRIBUTE.findall(node.group(2))}
    return nodes, edges


def clusters(source: str) -> dict[str, set[str]]:
    """Cluster label -> the ids of the nodes drawn inside it, nested clusters' nodes included; in source order."""
    members: dict[str, set[str]] = {}
    stack: list[str] = []  # the labels of the clusters the current line is inside
    for line in source.splitlines():
        if match := re.match(r"\s*subgraph (cluster_\d+) \{", line):
            stack.append(match.group(1))
            members[match.group(1)] = set()
        elif not stack:
            continue
        elif line.strip() == "}":
            stack.pop()
        elif (node := NODE.match(line)) and node.group(1) not in ("graph", "node", "edge"):
            for name in stack:
                members[name].add(node.group(1))
        elif label := dict(ATTRIBUTE.findall(line)).get("label"):
            members[label.strip('"')] = members.pop(stack[-1])
            stack[-1] = label.strip('"')
    return members


def recorded(root: Tensor) -> tuple[dict[int, str], Counter[tuple[str, str]]]:
    """Node ids of the recorded graph by the documented numbering, and its edges, one per tensor input of an op."""
    ops = topological_order(root.grad_fn)
    ids = {id(op): f"op{i}" for i, op in enumerate(ops)}
    leaves = dict.fromkeys(id(p) for op in ops for p in op.parents if isinstance(p, Tensor))
    ids |= {key: f"t{i}" for i, key in enumerate(leaves)}
    edges = Counter((ids[id(parent)], ids[id(op)]) for op in ops for parent in op.parents if parent is not None)
    return ids, edges


def lines(attributes: dict[str, str]) -> list[str]:
    return attributes["label"].split("\\n")


@pytest.fixture
def dot() -> str:
    """Graphviz's ``dot``; rendering tests must run in CI, so there a missing ``dot`` fails."""
    path = shutil.which("dot")
    if path is None:
        message = "Graphviz's dot is not installed (apt-get install graphviz)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def notebook_network(rng: np.random.Generator, m: int = 5) -> dict[str, Tensor]:
    """The notebook's 784-10-10 network in its layout (features x examples), with every tensor kept."""
    t = {
        "X": Tensor(rng.random((784, m), dtype=np.float32)),
        "W1": Tensor(rng.standard_normal((10, 784), dtype=np.float32) * 0.01, requires_grad=True),
        "b1": Tensor(np.zeros((10, 1), np.float32), requires_grad=True),
        "W2": Tensor(rng.standard_normal((10, 10), dtype=np.float32) * 0.01, requires_grad=True),
        "b2": Tensor(np.zeros((10, 1), np.float32), requires_grad=True),
    }
    t["W1X"] = t["W1"] @ t["X"]
    t["Z1"] = t["W1X"] + t["b1"]
    t["A1"] = t["Z1"].relu()
    t["W2A1"] = t["W2"] @ t["A1"]
    t["Z2"] = t["W2A1"] + t["b2"]
    t["logits"] = t["Z2"].T
    t["loss"] = t["logits"].cross_entropy(rng.integers(0, 10, m))
    return t


PARAMETERS = ("W1", "b1", "W2", "b2")
NOTEBOOK_EDGES = [
    ("W1", "W1X"),
    ("X", "W1X"),
    ("W1X", "Z1"),
    ("b1", "Z1"),
    ("Z1", "A1"),
    ("W2", "W2A1"),
    ("A1", "W2A1"),
    ("W2A1", "Z2"),
    ("b2", "Z2"),
    ("Z2", "logits"),
    ("logits", "loss"),
]


def test_notebook_network_has_exactly_its_nodes_edges_and_parameter_names():
    t = notebook_network(np.random.default_rng(0))
    graph = draw_graph(t["loss"], {name: t[name] for name in PARAMETERS}, inputs={"X": t["X"]})
    nodes, edges = parse(graph.source)

    ops = topological_order(t["loss"].grad_fn)
    node_of = {id(op): f"op{i}" for i, op in enumerate(ops)}
    by_name = {lines(attributes)[0]: node for node, attributes in nodes.items() if node.startswith("t")}
    ids = {name: by_name[name] if tensor.is_leaf else node_of[id(tensor.grad_fn)] for name, tensor in t.items()}
    assert Counter((ids[a], ids[b]) for a, b in NOTEBOOK_EDGES) == edges
    assert set(nodes) == set(ids.values())
    assert len(nodes) == len(ops) + len(PARAMETERS) + 1
    assert set(by_name) == {*PARAMETERS, "X"}
    for name, tensor in t.items():
        op = tensor.grad_fn
        label = lines(nodes[ids[name]])
        if op is not None:
            assert label[:2] == [op.op_name, f"{tensor.shape} float32"]
        else:
            assert label[:2] == [name, f"{tensor.shape} float32"]


def test_roles_are_drawn_in_their_own_styles():
    t = notebook_network(np.random.default_rng(0))
    nodes, _ = parse(draw_graph(t["loss"], {name: t[name] for name in PARAMETERS}).source)
    shapes = {lines(a)[0]: a.get("shape", "box") for a in nodes.values()}  # ops take the node default
    assert {shapes[name] for name in PARAMETERS} == {"cylinder"}
    assert shapes["CrossEntropy"] == "doubleoctagon"
    assert shapes["(784, 5) float32"] == "invhouse"  # the unnamed input
    assert {shapes[name] for name in ("MatMul", "Add", "ReLU", "Permute")} == {"box"}
    assert f"value {t['loss'].item():.4g}" in lines(nodes["op0"])


def test_parameter_names_come_from_a_map_pairs_or_anything_with_named_parameters():
    t = notebook_network(np.random.default_rng(0))
    pairs = [(name, t[name]) for name in PARAMETERS]

    class Model:
        def named_parameters(self):
            return iter(pairs)

    sources = {draw_graph(t["loss"], names).source for names in (dict(pairs), pairs, Model())}
    assert len(sources) == 1
    labels = {lines(a)[0] for a in parse(sources.pop())[0].values()}
    assert set(PARAMETERS) <= labels
    with pytest.raises(TypeError, match=r"params\['W1'\] is a ndarray"):
        draw_graph(t["loss"], {"W1": t["W1"].numpy()})


OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "matmul": lambda a, b: (a @ b.T) @ a,
    "relu": lambda a, _: a.relu(),
    "tanh": lambda a, _: a.tanh(),
    "neg": lambda a, _: -a,
    "scale": lambda a, _: 0.5 * a,
    "sum": lambda a, b: a.sum(dim=1, keepdim=True) + b,
    "transpose": lambda a, _: a.T.T,
    "softmax": lambda a, _: a.softmax(dim=1),
}


@st.composite
def compositions(draw: st.DrawFn) -> Tensor:
    """A random graph over a few (2, 3) leaves; operands may repeat (``x * x``), constants may join in.

    The root adds the first leaf, which requires grad, so a graph is always recorded.
    """
    n_leaves = draw(st.integers(1, 3))
    requires = draw(st.lists(st.booleans(), min_size=n_leaves, max_size=n_leaves))
    requires[0] = True
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pool = [Tensor(rng.standard_normal((2, 3)), requires_grad=r) for r in requires]
    for _ in range(draw(st.integers(1, 12))):
        op = OPS[draw(st.sampled_from(sorted(OPS)))]
        a, b = (pool[draw(st.integers(0, len(pool) - 1))] for _ in range(2))
        pool.append(op(a, b))
    picks = draw(st.lists(st.integers(0, len(pool) - 1), max_size=3))
    return sum((pool[i] for i in picks), start=pool[-1] + pool[0])


@given(compositions())
def test_drawn_graph_equals_recorded_graph(root):
    nodes, edges = parse(draw_graph(root).source)
    ids, expected_edges = recorded(root)
    assert set(nodes) == set(ids.values())
    assert edges == expected_edges
    for op in topological_order(root.grad_fn):
        assert lines(nodes[ids[id(op)]])[:2] == [op.op_name, f"{op.out_shape} {op.out_dtype}"]


def test_a_leaf_alone_is_one_output_node():
    nodes, edges = parse(draw_graph(Tensor([1.0, 2.0])).source)
    assert list(nodes) == ["t0"] and nodes["t0"]["shape"] == "doubleoctagon"
    assert not edges
    with pytest.raises(TypeError, match="expected the Tensor"):
        draw_graph(np.zeros(3))


def test_drawing_is_read_only():
    t = notebook_network(np.random.default_rng(1))
    t["A1"].retain_grad()
    ops = topological_order(t["loss"].grad_fn)

    def snapshot():
        state = [(op.parents, op.released, op.needs_input_grad, op.retained, op.out_shape) for op in ops]
        return state, [(t[n].numpy(), t[n].grad) for n in PARAMETERS]

    before = snapshot()
    draw_graph(t["loss"], {n: t[n] for n in PARAMETERS}, show_grad=True)
    after = snapshot()
    assert all(x is y for x, y in zip(before[0], after[0], strict=True) for x, y in zip(x, y, strict=True))
    assert all(a is b for pair in zip(before[1], after[1], strict=True) for a, b in zip(*pair, strict=True))
    t["loss"].backward()  # the saved arrays are all still there
    assert all(t[n].grad is not None for n in PARAMETERS)


def test_drawing_keeps_no_tensor_alive():
    t = notebook_network(np.random.default_rng(2))
    t["A1"].retain_grad()
    t["loss"].backward()
    alive = [weakref.ref(tensor) for tensor in t.values()]
    graph = draw_graph(t["loss"], {n: t[n] for n in PARAMETERS}, inputs={"X": t["X"]}, show_grad=True)
    del t
    gc.collect()
    assert [ref() for ref in alive] == [None] * len(alive)
    assert "|grad|" in graph.source


def test_ten_thousand_ops_draw_without_recursion():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y.relu()
    nodes, edges = parse(draw_graph(y).source)
    assert len(nodes) == 10_001
    assert sum(edges.values()) == 10_000


def grad_label(attributes: dict[str, str]) -> str:
    return next(line for line in lines(attributes) if line.startswith("|grad|"))


def test_show_grad_prints_each_kept_gradient_norm():
    t = notebook_network(np.random.default_rng(3))
    t["A1"].retain_grad()
    t["loss"].backward()
    nodes, _ = parse(draw_graph(t["loss"], {n: t[n] for n in PARAMETERS}, show_grad=True).source)
    by_first_line = {lines(a)[0]: a for a in nodes.values()}
    for name in PARAMETERS:
        assert grad_label(by_first_line[name]) == f"|grad| {np.linalg.norm(t[name].grad.numpy()):.2e}"
    assert grad_label(by_first_line["ReLU"]) == f"|grad| {np.linalg.norm(t['A1'].grad.numpy()):.2e}"
    assert by_first_line["MatMul"]["fillcolor"] == "#dddddd"  # not kept: grey, no norm
    assert not any(line.startswith("|grad|") for line in lines(by_first_line["MatMul"]))
    assert "|grad|" not in draw_graph(t["loss"], {n: t[n] for n in PARAMETERS}).source


def test_gradient_colours_rank_the_graphs_own_norms_and_borders_mark_the_absolute_alarms():
    tiny, healthy, huge = (Tensor(np.ones(4), requires_grad=True) for _ in range(3))
    loss = (tiny * 1e-12).sum() + healthy.sum() * 0.1 + (huge * 1e8).sum()
    loss.backward()
    names = {"tiny": tiny, "healthy": healthy, "huge": huge}
    nodes, _ = parse(draw_graph(loss, names, show_grad=True, grad_range=(1e-5, 1e1)).source)
    by_name = {lines(a)[0]: a for a in nodes.values() if lines(a)[0] in names}
    assert by_name["tiny"]["fillcolor"] == PALETTE[0]  # the smallest norm of this graph
    assert by_name["huge"]["fillcolor"] == PALETTE[-1]  # the largest
    assert by_name["healthy"]["fillcolor"] not in (PALETTE[0], PALETTE[-1])
    assert by_name["tiny"]["color"] == FLAG_COLOURS["vanishing"] and "vanishing" in lines(by_name["tiny"])
    assert by_name["huge"]["color"] == FLAG_COLOURS["exploding"] and "exploding" in lines(by_name["huge"])
    assert "color" not in by_name["healthy"] and "penwidth" not in by_name["healthy"]
    with pytest.raises(ValueError, match="grad_range"):
        draw_graph(loss, show_grad=True, grad_range=(1.0, 1e-3))


def test_a_healthy_network_gets_colours_that_tell_its_gradients_apart():
    t = notebook_network(np.random.default_rng(20))
    t["loss"].backward()
    norms = {n: np.linalg.norm(t[n].grad.numpy()) for n in PARAMETERS}
    assert all(1e-5 < norm < 1e1 for norm in norms.values())  # all inside the absolute range
    nodes, _ = parse(draw_graph(t["loss"], {n: t[n] for n in PARAMETERS}, show_grad=True).source)
    fill = {lines(a)[0]: a["fillcolor"] for a in nodes.values() if lines(a)[0] in PARAMETERS}
    assert len(set(fill.values())) == len(PARAMETERS)
    smallest, largest = min(norms, key=norms.get), max(norms, key=norms.get)
    assert (fill[smallest], fill[largest]) == (PALETTE[0], PALETTE[-1])
    assert not any("penwidth" in a for a in nodes.values())


def test_the_legend_is_no_wider_than_the_graph_it_explains(dot, tmp_path):
    model, (x, y) = notebook_model(), batch(np.random.default_rng(21))
    path = render(draw_model(model, x, y, show_grad=True), tmp_path / "graph.svg")
    root = ET.parse(path).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    graph_group = root.find("svg:g", ns)
    nodes_right = max(float(x) for g in graph_group.findall("svg:g[@class='node']", ns) for el in g for x in _xs(el))
    legend_right = max(float(t.get("x")) for t in graph_group.findall("svg:text", ns))
    assert legend_right < nodes_right


def _xs(element: ET.Element) -> list[str]:
    points = element.get("points") or ""
    return [p.split(",")[0] for p in points.split()] + ([element.get("cx")] if element.get("cx") else [])


def test_render_svg_parses_and_names_every_parameter(dot, tmp_path):
    t = notebook_network(np.random.default_rng(4))
    names = {n: t[n] for n in PARAMETERS}
    path = render(draw_graph(t["loss"], names, inputs={"X": t["X"]}), tmp_path / "graph.svg")
    texts = {"".join(e.itertext()) for e in ET.parse(path).getroot().iter() if e.tag.endswith("text")}
    assert set(PARAMETERS) | {"X"} <= texts


def test_render_png_and_pdf_by_suffix(dot, tmp_path):
    graph = draw_graph(notebook_network(np.random.default_rng(5))["loss"])
    assert render(graph, tmp_path / "graph.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert render(graph, tmp_path / "graph.PDF").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.PDF", "graph.png"]  # no temporary left


def test_render_dot_writes_the_source_alone(tmp_path):
    graph = draw_graph(notebook_network(np.random.default_rng(6))["loss"])
    path = render(graph, tmp_path / "new" / "graph.dot")
    assert path.read_text() == graph.source


def test_render_rejects_an_unknown_suffix(tmp_path):
    graph = draw_graph(Tensor(1.0))
    with pytest.raises(ValueError, match=r"graph\.jpeg.*\.svg, \.png or \.pdf.*\.dot"):
        render(graph, tmp_path / "graph.jpeg")
    assert not list(tmp_path.iterdir())


def test_without_dot_the_error_says_how_to_install_and_the_source_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    graph = draw_graph(notebook_network(np.random.default_rng(7))["loss"])
    target = tmp_path / "graph.svg"
    target.write_text("the picture drawn last time")
    with pytest.raises(GraphvizNotFoundError, match=r"apt-get install graphviz.*brew install graphviz") as error:
        render(graph, target)
    assert str(tmp_path / "graph.dot") in str(error.value)
    assert (tmp_path / "graph.dot").read_text() == graph.source
    assert target.read_text() == "the picture drawn last time"


def test_graph_shows_itself_in_jupyter(dot):
    graph = draw_graph(notebook_network(np.random.default_rng(8))["loss"])
    assert "<svg" in graph._repr_mimebundle_(include=["image/svg+xml"])["image/svg+xml"]


def test_notebook_figure_in_docs_parses_and_names_every_parameter():
    figure = Path(__file__).resolve().parents[1] / "docs" / "images" / "notebook_graph.svg"
    texts = "".join(ET.parse(figure).getroot().itertext())
    assert all(name in texts for name in ("0.weight", "0.bias", "2.weight", "2.bias", "|grad|"))


def notebook_model() -> nn.Sequential:
    return nn.init.notebook_(nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10)))


def batch(rng: np.random.Generator, m: int = 8) -> tuple[Tensor, np.ndarray]:
    return Tensor(rng.random((m, 784), dtype=np.float32)), rng.integers(0, 10, m)


def test_model_graph_is_its_forward_and_loss_with_every_parameter_named():
    model, (x, y) = notebook_model(), batch(np.random.default_rng(10))
    nodes, edges = parse(draw_model(model, x, y).source)
    loss = cross_entropy(model(x), y)  # the same computation, recorded again
    ids, expected_edges = recorded(loss)
    assert set(nodes) == set(ids.values())
    assert edges == expected_edges
    leaves = {lines(attributes)[0] for node, attributes in nodes.items() if node.startswith("t")}
    assert leaves == {"input", *dict(model.named_parameters())}


def test_model_ops_are_clustered_by_the_module_that_made_them():
    model, (x, y) = notebook_model(), batch(np.random.default_rng(11))
    members = clusters(draw_model(model, x, y).source)
    boxes = {0: "0: Linear(784→10)", 2: "2: Linear(10→10)"}  # the ReLU is one op: it needs no box
    assert list(members) == list(boxes.values())

    outputs = [x]
    for layer in model:
        outputs.append(layer(outputs[-1]))
    loss = cross_entropy(outputs[-1], y)
    ids, _ = recorded(loss)
    names = {id(p): name for name, p in model.named_parameters()}
    for k, label in boxes.items():
        made = {id(op) for op in topological_order(outputs[k + 1].grad_fn)}
        if outputs[k].grad_fn is not None:
            made -= {id(op) for op in topological_order(outputs[k].grad_fn)}
        own_params = {ids[key] for key, name in names.items() if name.startswith(f"{k}.")}
        assert members[label] == {ids[key] for key in made} | own_params
    relu = ids[id(outputs[2].grad_fn)]
    outside = set(ids.values()) - set().union(*members.values())
    assert outside == {"op0", ids[id(x)], relu}  # the loss, the input and the ReLU
    nodes, _ = parse(draw_model(model, x, y).source)
    assert lines(nodes[relu]) == ["1: ReLU", "(8, 10) float32"]  # named after its module


class Scaled(nn.Module):
    """Functional ops around a child module: they belong to this module, not the child."""

    def __init__(self) -> None:
        super().__init__()
        self.body = notebook_model()

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x * 2.0) * 0.5


def test_module_boxes_nest_as_the_calls_did_and_the_models_own_ops_stay_outside():
    model, (x, y) = Scaled(), batch(np.random.default_rng(18))
    x.requires_grad_()  # so that ``x * 2.0`` is recorded, upstream of the body's input
    members = clusters(draw_model(model, x, y).source)
    assert list(members) == ["body: Sequential", "body.0: Linear(784→10)", "body.2: Linear(10→10)"]
    nodes, _ = parse(draw_model(model, x, y).source)
    relu = next(node for node, a in nodes.items() if lines(a)[0] == "body.1: ReLU")
    assert members["body: Sequential"] == members["body.0: Linear(784→10)"] | members["body.2: Linear(10→10)"] | {relu}
    muls = {node for node, a in nodes.items() if lines(a)[0] == "Mul"}
    assert len(muls) == 2 and not muls & set().union(*members.values())


def test_draw_model_leaves_the_callers_input_alone():
    model, (raw, y) = notebook_model(), batch(np.random.default_rng(19))
    x = raw.requires_grad_() * 2.0
    nodes, _ = parse(draw_model(model, x, y, show_grad=True).source)
    assert raw.grad is None and not x.grad_fn.released
    (input_node,) = (a for a in nodes.values() if lines(a)[0] == "input")
    assert grad_label(input_node).startswith("|grad|")
    assert "Mul" not in {lines(a)[0] for a in nodes.values()}


def test_collapsed_model_is_one_node_per_layer():
    model, (x, y) = notebook_model(), batch(np.random.default_rng(12))
    nodes, edges = parse(draw_model(model, x, y, collapse=True).source)
    assert [lines(nodes[f"m{k}"])[0] for k in (0, 2)] == ["0: Linear(784→10)", "2: Linear(10→10)"]
    assert lines(nodes["m0"])[2:] == ["0.weight", "0.bias"]
    (relu,) = (node for node, a in nodes.items() if lines(a)[0] == "1: ReLU")
    (input_node,) = set(nodes) - {"m0", "m2", "op0", relu}
    assert lines(nodes[input_node])[0] == "input"
    assert edges == Counter({(input_node, "m0"): 1, ("m0", relu): 1, (relu, "m2"): 1, ("m2", "op0"): 1})
    assert not clusters(draw_model(model, x, y, collapse=True).source)


def test_model_gradients_are_drawn_and_the_parameters_grads_restored():
    model, (x, y) = notebook_model(), batch(np.random.default_rng(13))
    model[2].bias.grad = earlier = Tensor(np.ones(10, np.float32))
    nodes, _ = parse(draw_model(model, x, y, show_grad=True).source)
    assert model[2].bias.grad is earlier
    assert all(p.grad is None for name, p in model.named_parameters() if name != "2.bias")

    model[2].bias.grad = None
    outputs = [x]
    for layer in model:
        outputs.append(layer(outputs[-1]))
        outputs[-1].retain_grad()
    cross_entropy(outputs[-1], y).backward()
    by_first_line = {lines(a)[0]: a for a in nodes.values()}
    for name, p in model.named_parameters():
        assert grad_label(by_first_line[name]) == f"|grad| {np.linalg.norm(p.grad.numpy()):.2e}"
    ids, _ = recorded(cross_entropy(outputs[-1], y))
    for out in outputs[1:]:
        assert grad_label(nodes[ids[id(out.grad_fn)]]) == f"|grad| {np.linalg.norm(out.grad.numpy()):.2e}"


def test_vanishing_gradients_of_the_notebooks_deep_network_are_marked():
    model = nn.init.notebook_(
        nn.Sequential(
            nn.Linear(784, 4), nn.ReLU(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 10)
        )
    )
    x, y = batch(np.random.default_rng(14), m=32)
    nodes, _ = parse(draw_model(model, x, y, collapse=True, show_grad=True).source)
    assert nodes["m0"]["color"] == FLAG_COLOURS["vanishing"]  # the first layer's gradients are far below 1e-5
    assert "0.weight  |grad|" in nodes["m0"]["label"]


def test_draw_model_leaves_no_hook_behind():
    model, (x, y) = notebook_model(), batch(np.random.default_rng(15))
    draw_model(model, x, y, show_grad=True)
    out = weakref.ref(model(x))
    gc.collect()
    assert out() is None


def test_draw_model_explains_bad_calls():
    model, (x, y) = notebook_model(), batch(np.random.default_rng(16))
    with pytest.raises(ValueError, match="show_grad needs a target"):
        draw_model(model, x, show_grad=True)
    with pytest.raises(TypeError, match="example input must be a Tensor"):
        draw_model(model, x.numpy(), y)
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        draw_model(model, x, y)
    last_op = model(x).grad_fn.op_name  # without a target the model's output is the root
    assert parse(draw_model(model, x).source)[0]["op0"]["label"].startswith(f"{last_op}\\n(8, 10) float32")


def test_model_svg_holds_every_parameter_name(dot, tmp_path):
    model, (x, y) = notebook_model(), batch(np.random.default_rng(17))
    for collapse in (False, True):
        path = render(draw_model(model, x, y, collapse=collapse, show_grad=True), tmp_path / f"{collapse}.svg")
        text = "".join(ET.parse(path).getroot().itertext())
        assert all(name in text for name, _ in model.named_parameters())


def test_the_cnn_picture_boxes_each_layer_with_parameters_and_names_the_one_op_layers():
    model = build_model(RECIPES["cnn"])
    x = Tensor(np.random.default_rng(22).random((1, 1, 28, 28), dtype=np.float32))
    source = draw_model(model, x, np.zeros(1, dtype=np.int64)).source
    boxes = ["0: Conv2d(1→32, 3x3)", "3: Conv2d(32→64, 3x3)", "7: Linear(3136→128)", "9: Linear(128→10)"]
    assert list(clusters(source)) == boxes
    nodes, _ = parse(source)
    first_lines = {lines(a)[0] for a in nodes.values()}
    assert {"1: ReLU", "2: MaxPool2d(2x2)", "6: Flatten", "8: ReLU"} <= first_lines
    collapsed = draw_model(model, x, np.zeros(1, dtype=np.int64), collapse=True).source
    assert "0: Conv2d(1→32, 3x3)\\n(1, 32, 28, 28) float32\\n0.weight\\n0.bias" in collapsed


# ----- what a picture records: saved tensors, the backward graph, second-order ops ---------


def test_saved_tensors_are_recorded_with_the_node_they_came_from_and_their_bytes():
    t = notebook_network(np.random.default_rng(23))
    record = draw_graph(t["loss"], {n: t[n] for n in PARAMETERS}, inputs={"X": t["X"]}).record
    ids, _ = recorded(t["loss"])
    for op in topological_order(t["loss"].grad_fn):
        saved = [s for s in op.saved_tensors if s is not None]
        entries = record.nodes[ids[id(op)]].saved
        assert [(e.shape, e.nbytes) for e in entries] == [(s.shape, s.numpy().nbytes) for s in saved]
        sources = [ids.get(id(s.grad_fn)) if s.grad_fn is not None else ids.get(id(s)) for s in saved]
        assert [e.source for e in entries] == sources
    first = record.nodes[ids[id(t["W1X"].grad_fn)]]  # W1 @ X: only X is needed, for W1's gradient
    assert [(e.what, e.source) for e in first.saved] == [("input 1", ids[id(t["X"])])]
    relu = record.nodes[ids[id(t["A1"].grad_fn)]]
    assert [(e.what, e.source, e.dtype) for e in relu.saved] == [("constant", None, "bool")]  # its mask
    assert relu.value.max == pytest.approx(float(t["A1"].numpy().max()))  # known: W2 @ A1 saved it
    assert record.totals()["saved_bytes"] == sum(e.nbytes for n in record.of_kind("op") for e in n.saved)
    t["loss"].backward()
    freed = draw_graph(t["loss"], {n: t[n] for n in PARAMETERS}).record
    assert all(node.saved is None for node in freed.of_kind("op"))  # backward() freed them: the record says so


def test_the_backward_graph_is_one_node_per_op_backward_visits_with_an_edge_per_gradient_sent():
    t = notebook_network(np.random.default_rng(24))
    frozen = Tensor(np.ones((5, 10), np.float32))  # needs no gradient: no edge towards it
    loss = (t["logits"] * frozen).cross_entropy(np.arange(5) % 10)
    record = draw_graph(loss).record
    ids, _ = recorded(loss)
    loss.backward()
    visited = {ids[id(op)] for op in topological_order(loss.grad_fn) if op.released}
    assert {"op" + n.id[1:] for n in record.of_kind("backward")} == visited
    expected = Counter()
    for op in topological_order(loss.grad_fn):
        for parent, needs in zip(op.parents, op.needs_input_grad, strict=False):
            if parent is not None and needs:
                head = ids[id(parent)]
                expected[("b" + ids[id(op)][2:], "b" + head[2:] if head.startswith("op") else head)] += 1
    assert Counter((e.tail, e.head) for e in record.edges if e.kind == "grad") == expected
    assert ids[id(frozen)] not in {e.head for e in record.edges if e.kind == "grad"}


def test_second_order_ops_are_those_backward_recorded_with_create_graph():
    rng = np.random.default_rng(25)
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    x = Tensor(rng.standard_normal((4, 3)))
    loss = (x @ w).tanh().sum()
    loss.backward(create_graph=True)
    record = draw_graph(loss, {"w": w}, inputs={"x": x}, show_grad=True, view="both").record
    forward = {id(op) for op in topological_order(loss.grad_fn)}
    made_by_backward = [op for op in topological_order(w.grad.grad_fn) if id(op) not in forward]
    second = record.of_kind("second_order")
    assert sorted(n.name for n in second) == sorted(op.op_name for op in made_by_backward) and second
    (grad_of,) = [e for e in record.edges if e.kind == "grad_of"]
    w_node = next(n for n in record.nodes.values() if n.name == "w")
    assert grad_of.head == w_node.id and record.nodes[grad_of.tail].value.norm == pytest.approx(
        float(np.linalg.norm(w.grad.numpy()))
    )
    nodes, _ = parse(draw_graph(loss, {"w": w}, view="both").source)
    assert {n.id for n in second} <= set(nodes)
    assert nodes[grad_of.tail]["fillcolor"] == "#d5efd0"  # the third colour
    assert not {n.id for n in second} & set(parse(draw_graph(loss, {"w": w}).source)[0])  # not in the forward view


def test_the_readme_picture_is_what_the_documented_command_draws(tmp_path):
    from tinygrad_mnist.cli import main

    figure = Path(__file__).resolve().parents[1] / "docs" / "images" / "notebook_graph.svg"
    assert main(["graph", "--layers", "784,10,10", "--grad", "-o", str(tmp_path / "graph.dot"), "--quiet"]) == 0
    nodes, _ = parse((tmp_path / "graph.dot").read_text())
    svg = ET.parse(figure).getroot()
    texts = {"".join(e.itertext()) for e in svg.iter() if e.tag.endswith("text")}
    drawn = [g for g in svg.iter() if g.get("class") == "node"]
    assert len(drawn) == len(nodes)
    assert {line for attributes in nodes.values() for line in lines(attributes)} <= texts
