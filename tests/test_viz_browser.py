"""The graph explorer in a real browser: headless Chromium, driven by Selenium.

Every test opens a page that ``render(picture, "....html")`` wrote and checks what a user
would see: nodes, boxes, highlights and the details panel, against the record the page
was drawn from. One Chromium serves the whole module. Without Chromium, chromedriver or
Selenium the tests skip, except in CI (``.ci/run`` installs them), where they fail.

With ``TINYGRAD_MNIST_SCREENSHOTS=docs/images`` each test also saves a screenshot of the
state it checked, as ``explorer_<state>.png``: that is how the pictures in the docs are made.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tinygrad_mnist import Tensor, cross_entropy, nn, optim
from tinygrad_mnist.viz import GraphPicture, draw_diff, draw_graph, draw_model, render

SCREENSHOTS = os.environ.get("TINYGRAD_MNIST_SCREENSHOTS")
WINDOW = (1400, 860)


def need(what: str, found: object) -> None:
    """Skip without ``what``, but fail in CI, which must have it."""
    if not found:
        message = f"{what} is not installed (apt-get install chromium chromium-driver; pip install selenium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    need("selenium", webdriver)
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    need("Chromium", chromium)
    need("chromedriver", shutil.which("chromedriver"))
    need("Graphviz's dot", shutil.which("dot"))
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def notebook_model() -> nn.Sequential:
    return nn.init.notebook_(nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10)))


def batch(seed: int, m: int = 8) -> tuple[Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    return Tensor(rng.random((m, 784), dtype=np.float32)), rng.integers(0, 10, m)


@pytest.fixture(scope="module")
def notebook(tmp_path_factory) -> tuple[GraphPicture, Path]:
    """The notebook's network after one backward, and its page."""
    x, y = batch(0)
    picture = draw_model(notebook_model(), x, y, show_grad=True)
    return picture, render(picture, tmp_path_factory.mktemp("pages") / "notebook.html")


@pytest.fixture(scope="module")
def nested(tmp_path_factory) -> tuple[GraphPicture, Path]:
    """Boxes inside boxes: two blocks of Linear-ReLU-Linear, then a head."""
    block = lambda: nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 784))  # noqa: E731
    model = nn.Sequential(block(), nn.ReLU(), block(), nn.ReLU(), nn.Linear(784, 10))
    x, y = batch(1)
    picture = draw_model(model, x, y, show_grad=True)
    return picture, render(picture, tmp_path_factory.mktemp("pages") / "nested.html")


def open_page(browser, path: Path) -> float:
    """Load ``path`` and wait until the page says it is drawn; return the seconds that took."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop what earlier pages logged
    start = time.perf_counter()
    browser.get(path.as_uri())
    WebDriverWait(browser, 60).until(lambda b: b.execute_script("return document.body.dataset.ready === 'true'"))
    return time.perf_counter() - start


def shot(browser, state: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SCREENSHOTS) / f"explorer_{state}.png"))


def ids(browser, selector: str, attribute: str = "data-id") -> list[str]:
    return browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.getAttribute(arguments[1]))",
        selector,
        attribute,
    )


def css(browser, selector: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, selector)


def errors(browser) -> list[dict]:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_page_loads_with_no_console_errors_and_asks_the_network_for_nothing(browser, notebook):
    picture, page = notebook
    open_page(browser, page)
    assert errors(browser) == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    drawn = set(ids(browser, ".node"))
    assert drawn == {n.id for n in picture.record.nodes.values() if n.kind in ("op", "parameter", "input", "constant")}
    shot(browser, "forward")


def test_folding_a_module_hides_its_ops_and_shows_one_node(browser, notebook):
    picture, page = notebook
    open_page(browser, page)
    inside = {n.id for n in picture.record.nodes.values() if n.module == 0 and n.kind != "backward"}
    assert len(inside) == 3 and inside <= set(ids(browser, ".node"))  # the Linear op and its two parameters
    before = len(ids(browser, ".node"))
    css(browser, '.cluster .toggle[data-module="0"]').click()
    assert not inside & set(ids(browser, ".node"))
    assert ids(browser, ".folded", "data-module") == ["0"]
    assert len(ids(browser, ".node")) == before - 3
    assert "0: Linear(784→10)" in css(browser, '.folded[data-module="0"]').text
    shot(browser, "folded")
    css(browser, '.folded .toggle[data-module="0"]').click()
    assert inside <= set(ids(browser, ".node")) and not ids(browser, ".folded")
    assert errors(browser) == []


def test_unfold_depth_folds_every_box_below_it(browser, nested):
    picture, page = nested
    open_page(browser, page)
    from selenium.webdriver.support.ui import Select

    outer = {m.index for m in picture.record.modules if m.boxed and m.parent is None}
    inner = {m.index for m in picture.record.modules if m.boxed and m.parent is not None}
    assert outer and inner
    Select(css(browser, "#depth")).select_by_value("1")  # the blocks open, the layers inside them folded
    assert {int(k) for k in ids(browser, ".folded", "data-module")} == inner
    assert {int(k) for k in ids(browser, ".cluster", "data-module")} == outer
    shot(browser, "depth")
    Select(css(browser, "#depth")).select_by_value("0")
    assert {int(k) for k in ids(browser, ".folded", "data-module")} == outer and not ids(browser, ".cluster")
    assert errors(browser) == []


def test_search_highlights_the_nodes_whose_names_match(browser, notebook):
    picture, page = notebook
    open_page(browser, page)
    css(browser, "#search").send_keys("bias")
    expected = {n.id for n in picture.record.nodes.values() if n.kind == "parameter" and "bias" in n.name}
    assert len(expected) == 2
    assert set(ids(browser, ".node.match")) == expected
    assert css(browser, "#search-status").text.startswith("2 matches")
    shot(browser, "search")
    css(browser, '.cluster .toggle[data-module="2"]').click()  # one match now hides in a folded module
    assert len(ids(browser, ".node.match")) == 1
    assert ids(browser, ".folded.match-inside", "data-module") == ["2"]
    assert "1 in folded modules" in css(browser, "#search-status").text


def test_the_details_panel_shows_the_clicked_nodes_shape_statistics_and_saved_tensors(browser, notebook):
    picture, page = notebook
    open_page(browser, page)
    weight = next(n for n in picture.record.nodes.values() if n.name == "0.weight")
    css(browser, f'.node[data-id="{weight.id}"]').click()
    assert css(browser, "#detail-shape").text == "(10, 784)"
    assert css(browser, "#detail-dtype").text == weight.dtype
    text = css(browser, "#details").text
    assert f"{weight.grad.norm:.4g}"[:4] in text and "GRADIENT" in text.upper() and "0: Linear(784→10)" in text
    op = next(n for n in picture.record.nodes.values() if n.kind == "op" and n.module == 0)
    css(browser, f'.node[data-id="{op.id}"]').click()
    assert css(browser, "#detail-shape").text == "(8, 10)"
    saved = css(browser, "#details").text
    assert "SAVED FOR BACKWARD" in saved.upper() and all(s.what in saved for s in op.saved)
    shot(browser, "details")


def test_the_backward_switch_adds_one_backward_node_per_op_that_ran_backward(browser, notebook):
    picture, page = notebook
    open_page(browser, page)
    forward = set(ids(browser, ".node"))
    backward = {n.id for n in picture.record.of_kind("backward")}
    assert len(backward) == len(picture.record.of_kind("op")) and not backward & forward
    css(browser, "#view-both").click()
    both = set(ids(browser, ".node"))
    assert both == forward | backward
    assert ids(browser, ".edge.saved") and ids(browser, ".edge.grad")  # saved tensors and gradients drawn
    shot(browser, "both")
    css(browser, "#view-backward").click()
    shown = set(ids(browser, ".node"))
    assert backward <= shown and not {n.id for n in picture.record.of_kind("op")} & shown
    shot(browser, "backward")
    assert errors(browser) == []


def test_a_ten_thousand_op_graph_opens_folded_in_seconds(browser, tmp_path):
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y.relu()
    started = time.perf_counter()
    page = render(draw_graph(y.sum()), tmp_path / "chain.html")
    rendered = time.perf_counter() - started
    loaded = open_page(browser, page)
    size = page.stat().st_size
    print(f"10,000-op chain: written in {rendered:.1f} s, {size / 1e6:.1f} MB, loaded in {loaded:.2f} s")
    assert errors(browser) == []
    assert size < 8e6 and loaded < 15
    assert len(ids(browser, ".folded", "data-module")) == 51 and len(ids(browser, ".node")) <= 3  # chunks of 200
    css(browser, ".folded .toggle").click()  # one chunk unfolds
    assert len(ids(browser, ".node.kind-op")) == 200
    shot(browser, "large")


def test_the_diff_page_marks_the_layer_that_changed(browser, tmp_path):
    before = notebook_model()
    after = notebook_model()
    after.load_state_dict(before.state_dict())
    x, y = batch(2, m=16)
    step = optim.SGD(list(after[2].parameters()), lr=0.5)
    for _ in range(3):
        loss = cross_entropy(after(x), y)
        step.zero_grad()
        loss.backward()
        step.step()
    picture = draw_diff(before, after, x, y)
    open_page(browser, render(picture, tmp_path / "diff.html"))
    assert errors(browser) == []
    assert ids(browser, ".cluster.diff-changed", "data-module") == ["2"]
    moved = {n.id for n in picture.record.nodes.values() if n.change is not None and n.change.status == "changed"}
    assert set(ids(browser, ".node.diff-changed")) == moved and len(moved) == 2
    css(browser, f'.node[data-id="{sorted(moved)[0]}"]').click()
    assert "moved" in css(browser, "#details").text
    shot(browser, "diff")
