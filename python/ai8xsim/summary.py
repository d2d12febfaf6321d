"""Simulator.summary(): the resolved network as a table (text and notebook HTML)."""
from ._table import Table, shape_str

COLUMNS = ("layer", "op", "input", "pool", "kernel", "output", "shift", "act", "MACs",
           "weights (B)")


def op_text(L):
    s = L.op
    if L.eltwise != "none":
        s = f"{L.eltwise}x{L.operands}" + ("" if L.op == "passthrough" else f"+{L.op}")
    return s + ("(flat)" if L.flatten else "")


def pool_text(L):
    if L.pool[0] <= 1 and L.pool[1] <= 1:
        return "-"
    size = str(L.pool[0]) if L.one_d else f"{L.pool[0]}x{L.pool[1]}"
    return f"{'avg' if L.pool_average else 'max'} {size}/{L.pool_stride[0]}"


def kernel_text(L):
    if not L.is_conv:
        return "-"
    k = str(L.kernel[0]) if L.one_d else f"{L.kernel[0]}x{L.kernel[1]}"
    return k + (f"/{L.stride[0]}" if max(L.stride) > 1 else "")


def weight_bytes(L):
    """Kernel memory the layer's weights need at their bit width (binary: 1 bit)."""
    w = L.weights
    if w is None:
        return 0
    bits = 1 if L.quantization == -1 else abs(L.quantization)
    return (w.size * bits + 7) // 8


def layer_row(L):
    in_c = L.in_channels * L.operands
    out = shape_str((L.out_channels,) + tuple(L.output_dim))
    return [L.index, op_text(L), shape_str((in_c,) + tuple(L.input_dim)), pool_text(L),
            kernel_text(L), out + ("@32" if L.output_width == 32 else ""),
            L.output_shift if L.is_conv else None,
            L.activation if L.activation != "none" else "-", L.macs, weight_bytes(L)]


def cycles_cell(cycles, index):
    n = cycles.layers.get(index)
    if n is None:
        return None
    return f"{n:,}" + (" est." if index in cycles.estimated_layers else "")


class Summary:
    """Per layer in execution order: op, input/output shapes, pooling, kernel(/stride),
    output shift, activation, MACs, weight bytes, and when given, cycles (ai8xsim.Cycles)
    and kernel rows / bias bytes (ai8xsim.Memory). `columns` and `rows`
    hold the cells, `str()` is the text table, `_repr_html_` the notebook one."""

    def __init__(self, network, cycles=None, memory=None):
        self.network = network
        self.cycles = cycles
        self.memory = memory
        self.layers = [network.layers[i] for i in network.order]
        self.total_macs = network.total_macs
        self.columns = list(COLUMNS)
        self.rows = [layer_row(L) for L in self.layers]
        if cycles is not None:
            self._add_column("cycles", lambda L: cycles_cell(cycles, L.index))
        if memory is not None:
            self._add_column("kernel rows", lambda L: memory.kernel_rows.get(L.index))
            self._add_column("bias (B)", lambda L: memory.bias_bytes.get(L.index))

    def _add_column(self, name, cell):
        self.columns.append(name)
        for row, L in zip(self.rows, self.layers):
            row.append(cell(L))

    def footer(self):
        parts = [f"total MACs: {self.total_macs:,}",
                 f"weights: {sum(weight_bytes(L) for L in self.layers):,} bytes"]
        if self.cycles is not None:
            parts.append(f"cycles: {self.cycles}")
        if self.memory is not None:
            parts.append(f"kernel rows written: {self.memory.kernel_rows_written:,}, "
                         f"bias bytes: {self.memory.bias_bytes_used:,}")
        lines = ["; ".join(parts)]
        if self.memory is not None:
            lines += [f"memory: {v}" for v in self.memory.violations]
        return "\n".join(lines)

    def table(self):
        net = self.network
        title = (f"{net.device}: {net.config_file}, input "
                 f"{shape_str(net.input_shape)}, {len(self.layers)} layers")
        right = ("layer", "shift", "MACs", "weights (B)", "cycles", "kernel rows", "bias (B)")
        return Table(self.columns, self.rows, title, self.footer(), right=right)

    def __str__(self):
        return self.table().text()

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        return self.table().html()
