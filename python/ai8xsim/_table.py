"""A small table that renders as aligned text and as HTML (for notebooks)."""
import html


class Table:
    """Rows of cells under named columns; `right` names the right-aligned (numeric) columns."""

    def __init__(self, columns, rows, title="", footer="", right=()):
        self.columns = list(columns)
        self.rows = [[_cell(v) for v in row] for row in rows]
        self.title = title
        self.footer = footer
        self.right = set(right)

    def text(self):
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(v)) for w, v in zip(widths, row)]
        lines = [self.title] if self.title else []
        lines.append(self._line(self.columns, widths))
        lines.append("  ".join("-" * w for w in widths))
        lines += [self._line(row, widths) for row in self.rows]
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)

    def _line(self, cells, widths):
        out = []
        for col, v, w in zip(self.columns, cells, widths):
            out.append(v.rjust(w) if col in self.right else v.ljust(w))
        return "  ".join(out).rstrip()

    def html(self, row_styles=None):
        """`row_styles`: optional CSS per row (e.g. a background for rows that differ)."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = []
        for i, row in enumerate(self.rows):
            style = f' style="{row_styles[i]}"' if row_styles and row_styles[i] else ""
            cells = "".join(self._td(c, v) for c, v in zip(self.columns, row))
            body.append(f"<tr{style}>{cells}</tr>")
        title = f"<p><b>{html.escape(self.title)}</b></p>" if self.title else ""
        footer = f"<p>{html.escape(self.footer)}</p>" if self.footer else ""
        return (f"{title}<table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>{footer}")

    def _td(self, col, v):
        align = "right" if col in self.right else "left"
        return f'<td style="text-align:{align}">{html.escape(v)}</td>'


def _cell(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def shape_str(shape):
    return "x".join(str(int(s)) for s in shape)
