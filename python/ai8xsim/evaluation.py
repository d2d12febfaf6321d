"""net.evaluate(X, y, reference=None): `ai8xsim eval`'s Python twin.

The library's evaluate (ai8xsim/evaluate.h, the one `ai8xsim eval` runs) reads the samples in
place, runs them on the library's threads and scores each output as it comes (memory bounded
by the labels; a progress bar; Ctrl-C stops it as it stops run_batch), giving the same report: top-1 and top-5, per class, confusion matrix,
misclassified samples, agreement with a reference; for label maps (N x H x W) per-pixel
accuracy and per-class IoU."""
import html

import numpy as np

from . import _progress
from ._core import Error
from ._table import Table


def _pct(v):
    return "-" if v is None else f"{100 * v:.2f}%"


class EvalReport:
    """The report of Simulator.evaluate. Fields follow `ai8xsim eval --report`: `accuracy`,
    `top5_accuracy`, `per_class` (list of dicts), `confusion` (K x K array, rows: label),
    `misclassified`, `predictions`, `reference` (dict or None), `segmentation` (dict or None:
    pixel_accuracy, class_iou, mean_iou). `raw` holds the whole JSON-shaped dict."""

    def __init__(self, raw):
        self.raw = raw
        self.samples = raw["samples"]
        self.classes = raw["classes"]
        self.accuracy = raw["accuracy"]
        self.top5_accuracy = raw["top5_accuracy"]
        self.per_class = raw["per_class"]
        self.confusion = np.asarray(raw["confusion"], dtype=np.int64)
        self.misclassified = list(raw["misclassified"])
        self.predictions = None if raw["predictions"] is None else np.asarray(raw["predictions"])
        self.reference = raw["reference"]
        self.segmentation = raw["segmentation"]
        self.seconds = raw["seconds"]

    def summary_line(self):
        if self.segmentation:
            s = self.segmentation
            return (f"pixel accuracy {_pct(s['pixel_accuracy'])} ({self.raw['correct']:,} of "
                    f"{s['pixels']:,} pixels, {self.samples} samples), mean IoU "
                    f"{_pct(s['mean_iou'])}")
        line = (f"top-1 {_pct(self.accuracy)} ({self.raw['correct']:,} of {self.samples:,}), "
                f"top-5 {_pct(self.top5_accuracy)}")
        if self.reference:
            r = self.reference
            line += (f"; agreement with the reference {_pct(r['agreement'])} "
                     f"({len(r['disagreements'])} differ), reference accuracy "
                     f"{_pct(r['accuracy'])}")
        return line

    def class_table(self):
        seg = bool(self.segmentation)
        cols = ["class", "pixels" if seg else "samples", "correct", "accuracy"] + \
            (["IoU"] if seg else [])
        rows = []
        for c in self.per_class:
            row = [c["class"], c["samples"], c["correct"], _pct(c["accuracy"])]
            if seg:
                row.append(_pct(c.get("iou")))
            rows.append(row)
        return Table(cols, rows, "per class", right=cols)

    def __repr__(self):
        lines = [f"EvalReport: {self.summary_line()}", self.class_table().text()]
        n = len(self.misclassified)
        label = "samples with a wrong pixel" if self.segmentation else "misclassified"
        lines.append(f"{label}: {n}" + (f" ({', '.join(map(str, self.misclassified[:20]))}"
                                          f"{', ...' if n > 20 else ''})" if n else ""))
        lines.append(f"confusion: {self.classes} x {self.classes} (.confusion, rows: label)")
        return "\n".join(lines)

    def _repr_html_(self):
        parts = [f"<p><b>ai8xsim evaluate</b>: {html.escape(self.summary_line())}</p>",
                 self.class_table().html(), self._confusion_html()]
        n = len(self.misclassified)
        label = "samples with a wrong pixel" if self.segmentation else "misclassified"
        parts.append(f"<p>{label}: {n}" + (
            f" ({html.escape(', '.join(map(str, self.misclassified[:50])))}"
            f"{', ...' if n > 50 else ''})" if n else "") + "</p>")
        return "".join(parts)

    def _confusion_html(self, limit=32):
        k = self.classes
        if k > limit:
            return f"<p>confusion: {k} x {k} (in <code>.confusion</code>)</p>"
        m = self.confusion
        top = max(int(m.max()), 1)
        head = "".join(f"<th>{p}</th>" for p in range(k))
        rows = []
        for t in range(k):
            cells = []
            for p in range(k):
                v = int(m[t, p])
                a = 0.85 * v / top
                color = "40,120,200" if t == p else "220,80,60"
                cells.append(f'<td style="text-align:right;background:rgba({color},{a:.2f})">'
                             f'{v}</td>')
            rows.append(f"<tr><th>{t}</th>{''.join(cells)}</tr>")
        return ("<p>confusion (rows: label, columns: prediction)</p>"
                f"<table><thead><tr><th></th>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")


def evaluate(net, X, y, reference=None, threads=0, progress=None):
    """See Simulator.evaluate."""
    from .simulator import _as_batch, _explained
    X = _as_batch(X)
    y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
    if reference is not None:
        reference = np.asarray(reference.detach().cpu().numpy()
                               if hasattr(reference, "detach") else reference)
    if X.ndim < 3 or X.shape[0] == 0:
        raise Error(f"evaluate: X has shape {X.shape}; give N samples, N x C x H x W "
                    f"(N x C x L for 1-D networks)")
    if y.ndim >= 1 and y.shape[0] != X.shape[0]:
        raise Error(f"evaluate: y has {y.shape[0]} labels for {X.shape[0]} samples in X; give "
                    f"one label (or one label map) per sample")
    n = X.shape[0]
    sim = net._sim
    with _explained(net._check_sample(X, batch=True)):
        if not _progress.wants_bar(progress, n):
            raw = sim.evaluate(X, y, reference, threads=threads)
        else:
            with _progress.bar(n) as update:
                raw = sim.evaluate(X, y, reference, threads=threads, progress=update,
                                   progress_every=_progress.every(n))
    net.last_input_shape = X.shape[1:]
    return EvalReport(raw)
