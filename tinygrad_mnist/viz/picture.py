"""``GraphPicture``, what ``draw_graph`` and ``draw_model`` return, and ``render``, which writes it."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import graphviz

from ..files import atomic_write
from .colour import DEFAULT_GRAD_RANGE, GradScale
from .record import GraphRecord
from .static import fill_digraph
from .views import check_view

#: Picture formats ``render`` chooses by the path's suffix.
RENDER_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
SOURCE_SUFFIXES = (".dot", ".gv")
HTML_SUFFIXES = (".html", ".htm")
INSTALL_GRAPHVIZ = (
    "Install Graphviz (Debian/Ubuntu: apt-get install graphviz, macOS: brew install graphviz, "
    "conda: conda install graphviz)"
)
#: Graphs up to this many nodes also carry their static SVG in Jupyter; bigger ones would take long to draw whole.
STATIC_FALLBACK_PAST = 400
#: Height of the explorer shown inline in Jupyter, in CSS pixels.
NOTEBOOK_HEIGHT = 640


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not installed; the message says how to install it."""


class GraphPicture(graphviz.Digraph):
    """A ``graphviz.Digraph`` of the static picture that also keeps the record it was drawn from.

    ``.source`` is its DOT; ``render(picture, "graph.html")`` writes the interactive
    explorer from the record, any other suffix the static picture. In Jupyter it shows
    itself as the explorer, inline; ``_repr_mimebundle_(include=["image/svg+xml"])``
    still gives the static SVG.
    """

    record: GraphRecord
    view: str = "forward"
    collapse: bool = False
    show_grad: bool = False
    scale: GradScale = GradScale((), DEFAULT_GRAD_RANGE)
    title: str = "computation graph"
    before: GraphRecord | None = None  # set for a diff: the record the changes are measured from

    @classmethod
    def drawn(
        cls,
        record: GraphRecord,
        *,
        view: str = "forward",
        collapse: bool = False,
        show_grad: bool = False,
        grad_range: tuple[float, float] = DEFAULT_GRAD_RANGE,
        title: str = "computation graph",
    ) -> GraphPicture:
        """The picture of ``record``: the static DOT filled in, the options kept for the explorer."""
        norms = [n.grad.norm for n in record.nodes.values() if n.grad is not None]
        scale = GradScale.of(norms, grad_range)
        picture = cls(name="computation_graph")
        picture.record, picture.view, picture.collapse = record, check_view(view), collapse
        picture.show_grad, picture.scale, picture.title = show_grad, scale, title
        fill_digraph(picture, record, picture.view, collapse, show_grad, scale)
        return picture

    def explorer(self) -> str:
        """The interactive explorer: one self-contained HTML page (needs Graphviz's ``dot`` for its layouts)."""
        from .explorer import explorer_page

        return explorer_page(self)

    def _repr_html_(self) -> str:
        """The explorer in an iframe of its own, so its styles and script cannot clash with the notebook's."""
        return (
            f'<iframe srcdoc="{html.escape(self.explorer(), quote=True)}" '
            f'style="width: 100%; height: {NOTEBOOK_HEIGHT}px; border: 1px solid #ddd;" '
            'title="computation graph explorer"></iframe>'
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, str]:
        """The explorer as HTML; beside it, for a small graph, the static SVG, which notebook viewers
        that run no script (GitHub's) show instead. ``include=["image/svg+xml"]`` gives the SVG alone."""
        try:
            if include is not None and "text/html" not in include:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            bundle = {"text/html": self._repr_html_(), "text/plain": repr(self)}
            if len(self.record.nodes) <= STATIC_FALLBACK_PAST:
                bundle |= super()._repr_mimebundle_(["image/svg+xml"], exclude, **kwargs)
            return bundle
        except graphviz.ExecutableNotFound:
            return {
                "text/plain": f"{self!r}: Graphviz's `dot` is not installed, so it cannot be drawn. {INSTALL_GRAPHVIZ}"
            }

    def __repr__(self) -> str:
        return f"<GraphPicture {self.title!r}: {len(self.record.nodes)} nodes, view {self.view!r}>"


def render(graph: graphviz.Digraph, path: str | os.PathLike[str]) -> Path:
    """Write ``graph`` to ``path`` by its suffix: ``.html`` the explorer, ``.svg``/``.png``/``.pdf``
    the static picture, ``.dot`` its source alone.

    Pictures and the explorer need Graphviz's ``dot``; without it the DOT source is still
    written next to ``path`` and ``GraphvizNotFoundError`` says how to install it. The file
    appears whole or not at all.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RENDER_FORMATS and suffix not in SOURCE_SUFFIXES and suffix not in HTML_SUFFIXES:
        raise ValueError(
            f"render: cannot tell the format of {str(path)!r} from its suffix; end the name in .svg, .png or .pdf "
            "for a picture, .html for the interactive explorer, or .dot for the DOT source alone"
        )
    if suffix in SOURCE_SUFFIXES:
        write(path, graph.source.encode())
        return path
    if suffix in HTML_SUFFIXES and not isinstance(graph, GraphPicture):
        raise TypeError(
            f"render: the explorer ({str(path)!r}) is drawn from what draw_graph or draw_model return, "
            f"not from a plain {type(graph).__name__}"
        )
    try:
        content = graph.explorer().encode() if suffix in HTML_SUFFIXES else graph.pipe(format=RENDER_FORMATS[suffix])
    except graphviz.ExecutableNotFound:
        source = path.with_suffix(".dot")
        write(source, graph.source.encode())
        finish = f", or run `dot -T{RENDER_FORMATS[suffix]} {source} -o {path}`" if suffix in RENDER_FORMATS else ""
        raise GraphvizNotFoundError(
            f"render: Graphviz's `dot` program is not installed, so {str(path)!r} was not drawn; "
            f"the DOT source was written to {str(source)!r}. {INSTALL_GRAPHVIZ} and run again{finish}"
        ) from None
    except graphviz.CalledProcessError as error:
        message = (error.stderr or b"").decode(errors="replace").strip()
        raise RuntimeError(f"render: Graphviz's `dot` failed to draw {str(path)!r}: {message}") from None
    write(path, content)
    return path


def write(path: Path, content: bytes) -> None:
    """Replace ``path`` atomically: the old file or the whole new one, never half of it."""
    with atomic_write(path) as temporary:
        temporary.write_bytes(content)
