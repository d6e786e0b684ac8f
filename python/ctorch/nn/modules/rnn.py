"""Recurrent layers: RNNBase, RNN (tanh / relu), LSTM (with optional proj_size), GRU and the single-step
cells RNNCell, LSTMCell, GRUCell, with PyTorch's parameter names (weight_ih_l0, ..._reverse), gate orders
(LSTM i, f, g, o; GRU r, z, n), default initialisation, argument checks, error messages and return values.

Everything is composed from ctorch ops, so autograd needs nothing extra. Per layer and direction the input
projection x @ W_ih^T of the whole sequence is one matmul; each time step then costs one h @ W_hh^T
(an addmm onto that step's slice of the projection) plus a few fused elementwise ops.

A PackedSequence input runs the same cells on the packed data (_packed_direction): step t updates only the
first batch_sizes[t] rows of the state, so a finished sequence keeps its last state, and the reverse
direction starts each sequence at its own last valid step."""
import math
import numbers
import warnings

import ctorch
from ctorch.nn import functional as F
from ctorch.nn import init
from ctorch.nn.modules.module import Module
from ctorch.nn.parameter import Parameter
from ctorch.nn.utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---- the recurrences, shared by the multi-layer modules and the cells


def _input_projection(x, w_ih, bias):
    """x (T, B, F) @ W_ih^T (+ bias) for all T steps in one matmul -> (T, B, G)."""
    T, B, feat = x.shape
    x2 = x.reshape(T * B, feat)
    w_t = w_ih.t()
    p = x2.matmul(w_t) if bias is None else ctorch.addmm(bias, x2, w_t)
    return p.reshape(T, B, w_ih.size(0))


def _hidden_step(xt, h, w_hh_t):
    # xt already holds x_t W_ih^T + biases, so one addmm gives the full pre-activation
    return ctorch.addmm(xt, h, w_hh_t)


def _rnn_direction(mode, x, h, w_ih, w_hh, b_ih, b_hh, reverse):
    """One layer, one direction of an Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""
    bias = None if b_ih is None else b_ih + b_hh
    steps = _input_projection(x, w_ih, bias).unbind(0)
    act = ctorch.tanh if mode == "RNN_TANH" else ctorch.relu
    w_hh_t = w_hh.t()
    outs = []
    for xt in (reversed(steps) if reverse else steps):
        h = act(_hidden_step(xt, h, w_hh_t))
        outs.append(h)
    if reverse:
        outs.reverse()
    return ctorch.stack(outs, 0), h, None


def _lstm_direction(x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
    """One layer, one direction of an LSTM (gates i, f, g, o; h projected by W_hr when proj_size > 0)."""
    bias = None if b_ih is None else b_ih + b_hh
    steps = _input_projection(x, w_ih, bias).unbind(0)
    w_hh_t = w_hh.t()
    w_hr_t = None if w_hr is None else w_hr.t()
    outs = []
    for xt in (reversed(steps) if reverse else steps):
        h, c = _lstm_cell_math(_hidden_step(xt, h, w_hh_t), c, w_hr_t)
        outs.append(h)
    if reverse:
        outs.reverse()
    return ctorch.stack(outs, 0), h, c


def _lstm_cell_math(gates, c, w_hr_t=None):
    if gates.dtype in (ctorch.float32, ctorch.float64) and c.dtype == gates.dtype:
        h, c = ctorch._C._lstm_cell(gates, c)  # one fused pass (and one backward node) per step
    else:
        i, f, g, o = gates.chunk(4, 1)
        c = ctorch.addcmul(f.sigmoid() * c, i.sigmoid(), g.tanh())
        h = o.sigmoid() * c.tanh()
    if w_hr_t is not None:
        h = h.matmul(w_hr_t)
    return h, c


def _gru_cell_math(xg, hg, h, hidden_size):
    """xg = x W_ih^T + b_ih and hg = h W_hh^T + b_hh, both (B, 3H) in r, z, n order:
    r, z = sigmoid(x_rz + h_rz); n = tanh(x_n + r * h_n); h' = n + z * (h - n) = (1 - z) n + z h."""
    if xg.dtype in (ctorch.float32, ctorch.float64) and hg.dtype == xg.dtype and h.dtype == xg.dtype:
        return ctorch._C._gru_cell(xg, hg, h)  # one fused pass (and one backward node) per step
    x_rz, x_n = xg.split([2 * hidden_size, hidden_size], 1)
    h_rz, h_n = hg.split([2 * hidden_size, hidden_size], 1)
    r, z = (x_rz + h_rz).sigmoid().chunk(2, 1)
    n = ctorch.addcmul(x_n, r, h_n).tanh()
    return ctorch.addcmul(n, z, h - n)


def _gru_direction(x, h, w_ih, w_hh, b_ih, b_hh, reverse):
    """One layer, one direction of a GRU. b_hh stays with the hidden product because r multiplies
    (W_hn h + b_hn), so it cannot be folded into the input projection."""
    steps = _input_projection(x, w_ih, b_ih).unbind(0)
    w_hh_t = w_hh.t()
    H = w_hh.size(1)
    outs = []
    for xt in (reversed(steps) if reverse else steps):
        hg = h.matmul(w_hh_t) if b_hh is None else ctorch.addmm(b_hh, h, w_hh_t)
        h = _gru_cell_math(xt, hg, h, H)
        outs.append(h)
    if reverse:
        outs.reverse()
    return ctorch.stack(outs, 0), h, None


def _packed_direction(mode, data, batch_sizes, h, c, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
    """One layer, one direction over packed data (N, F) with per-step batch sizes (non-increasing).
    h / c hold the state of every sequence (B, *); at step t only rows [0, batch_sizes[t]) are active, so
    the others keep their state: in the forward direction a finished sequence keeps its final state, in
    the reverse one a sequence that has not started yet still holds h0. Returns (out (N, H_out), h, c)."""
    gru = mode == "GRU"
    lstm = mode == "LSTM"
    bias = b_ih if gru else (None if b_ih is None else b_ih + b_hh)
    proj = _input_projection(data.unsqueeze(0), w_ih, bias).squeeze(0)
    w_hh_t = w_hh.t()
    w_hr_t = None if w_hr is None else w_hr.t()
    H = w_hh.size(1)
    act = ctorch.tanh if mode == "RNN_TANH" else ctorch.relu
    offsets = []
    offset = 0
    for b in batch_sizes:
        offsets.append(offset)
        offset += b
    order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
    outs = [None] * len(batch_sizes)
    for t in order:
        b = batch_sizes[t]
        xt = proj.narrow(0, offsets[t], b)
        full = b == h.size(0)
        h_act = h if full else h.narrow(0, 0, b)
        if lstm:
            c_act = c if full else c.narrow(0, 0, b)
            h_new, c_new = _lstm_cell_math(_hidden_step(xt, h_act, w_hh_t), c_act, w_hr_t)
            c = c_new if full else ctorch.cat([c_new, c.narrow(0, b, c.size(0) - b)], 0)
        elif gru:
            hg = h_act.matmul(w_hh_t) if b_hh is None else ctorch.addmm(b_hh, h_act, w_hh_t)
            h_new = _gru_cell_math(xt, hg, h_act, H)
        else:
            h_new = act(_hidden_step(xt, h_act, w_hh_t))
        outs[t] = h_new
        h = h_new if full else ctorch.cat([h_new, h.narrow(0, b, h.size(0) - b)], 0)
    return ctorch.cat(outs, 0), h, c


# ---- multi-layer modules


class RNNBase(Module):
    """Base of RNN, LSTM and GRU: creates the per-layer, per-direction parameters under PyTorch's names and
    runs the stacked (optionally bidirectional) recurrence. Input (L, N, H_in), or (N, L, H_in) with
    batch_first, or unbatched (L, H_in); states are (num_layers * num_directions, N, H) either way."""

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                     "bidirectional", "proj_size"]

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        # PyTorch's checks, in PyTorch's order
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of "
                             "an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero "
                          "dropout expects num_layers greater than 1, but got dropout="
                          f"{dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size

        kw = {"device": device, "dtype": dtype}
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        # registration order = PyTorch's, so named_parameters / state_dict orders match
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, layer_input_size), (gate_size, real_hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                if proj_size > 0:
                    names.append(f"weight_hr_l{layer}{suffix}")
                    shapes.append((proj_size, hidden_size))
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(ctorch.empty(*shape, **kw)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch's default: every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """No-op: PyTorch uses it to pack weights for cuDNN; ctorch reads the parameters directly."""

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, w) for w in weights] for weights in self._all_weights]

    def _layer_params(self, layer, direction):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction; absent ones are None."""
        suffix = f"l{layer}" + ("_reverse" if direction == 1 else "")
        p = self._parameters
        return (p[f"weight_ih_{suffix}"], p[f"weight_hh_{suffix}"], p.get(f"bias_ih_{suffix}"),
                p.get(f"bias_hh_{suffix}"), p.get(f"weight_hr_{suffix}"))

    # ---- argument checks (PyTorch's messages)

    def check_input(self, input, batch_sizes=None):
        w_dtype = self._flat_weights[0].dtype
        if input.dtype != w_dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({w_dtype}). "
                             f"Convert input: input.to({w_dtype}), or convert model: model.to({input.dtype})")
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes=None):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        h = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, h)

    def check_hidden_size(self, hx, expected_hidden_size, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(tuple(expected_hidden_size), list(hx.shape)))

    def check_forward_args(self, input, hidden, batch_sizes=None):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx.index_select(1, permutation)

    # ---- the stacked recurrence

    def _run(self, input, h0, c0, batch_sizes=None):
        """input (T, B, F) (batch_first already undone), or packed data (N, F) with batch_sizes (a list);
        h0 / c0 (L * D, B, *) or None for c0 unless LSTM.
        Returns output (T, B, D * H_out) or (N, D * H_out), h_n, c_n (None unless LSTM)."""
        if batch_sizes is None and input.size(0) == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        num_directions = 2 if self.bidirectional else 1
        h0s = h0.unbind(0)
        c0s = c0.unbind(0) if c0 is not None else None
        h_n, c_n = [], []
        layer_input = input
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                idx = layer * num_directions + direction
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_params(layer, direction)
                reverse = direction == 1
                if batch_sizes is not None:
                    out, h, c = _packed_direction(self.mode, layer_input, batch_sizes, h0s[idx],
                                                  c0s[idx] if c0s is not None else None, w_ih, w_hh,
                                                  b_ih, b_hh, w_hr, reverse)
                    if c is not None:
                        c_n.append(c)
                elif self.mode == "LSTM":
                    out, h, c = _lstm_direction(layer_input, h0s[idx], c0s[idx], w_ih, w_hh, b_ih, b_hh,
                                                w_hr, reverse)
                    c_n.append(c)
                elif self.mode == "GRU":
                    out, h, _ = _gru_direction(layer_input, h0s[idx], w_ih, w_hh, b_ih, b_hh, reverse)
                else:
                    out, h, _ = _rnn_direction(self.mode, layer_input, h0s[idx], w_ih, w_hh, b_ih, b_hh,
                                               reverse)
                outs.append(out)
                h_n.append(h)
            layer_input = outs[0] if num_directions == 1 else ctorch.cat(outs, layer_input.dim() - 1)
            # PyTorch: dropout on every layer's output but the last, in training mode only
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, ctorch.stack(h_n, 0), (ctorch.stack(c_n, 0) if c_n else None)

    def _prepare(self, input):
        """(input as (T, B, F), is_batched, batch_dim) after PyTorch's dimension check."""
        if input.dim() not in (2, 3):
            label = "RNN" if self.mode.startswith("RNN") else self.mode
            raise ValueError(f"{label}: Expected input to be 2D or 3D, got {input.dim()}D "
                             + ("tensor instead" if label == "RNN" else "instead"))
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
        return input, is_batched, batch_dim

    def _forward_packed(self, packed, hx):
        """Forward on a PackedSequence: hx (original batch order) is permuted into sorted order on the
        way in, the final states back on the way out, as PyTorch does. hx is a tensor, or (h, c) for
        LSTM, or None. Returns (PackedSequence output, h_n, c_n)."""
        data, batch_sizes_t, sorted_indices, unsorted_indices = packed
        batch_sizes = [int(b) for b in batch_sizes_t.tolist()]
        lstm = self.mode == "LSTM"
        max_batch = batch_sizes[0]
        num_directions = 2 if self.bidirectional else 1
        if hx is None:
            def zeros(size):
                return ctorch.zeros(self.num_layers * num_directions, max_batch, size, dtype=data.dtype,
                                    device=data.device)
            real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = (zeros(real_hidden_size), zeros(self.hidden_size)) if lstm else zeros(self.hidden_size)
        else:
            hx = self.permute_hidden(hx, sorted_indices)
        self.check_forward_args(data, hx, batch_sizes)
        h0, c0 = hx if lstm else (hx, None)
        output, h_n, c_n = self._run(data, h0, c0, batch_sizes)
        output = PackedSequence(output, batch_sizes_t, sorted_indices, unsorted_indices)
        if lstm:
            h_n, c_n = self.permute_hidden((h_n, c_n), unsorted_indices)
        else:
            h_n = self.permute_hidden(h_n, unsorted_indices)
        return output, h_n, c_n

    def _zeros(self, input, size):
        max_batch_size = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return ctorch.zeros(self.num_layers * num_directions, max_batch_size, size, dtype=input.dtype,
                            device=input.device)

    def _forward_single_state(self, input, hx):
        """RNN and GRU forward: one state tensor."""
        if isinstance(input, PackedSequence):
            output, hidden, _ = self._forward_packed(input, hx)
            return output, hidden
        input, is_batched, batch_dim = self._prepare(input)
        if hx is not None:
            if not is_batched:
                if hx.dim() != 2:
                    raise RuntimeError("For unbatched 2-D input, hx should also be 2-D but got "
                                       f"{hx.dim()}-D tensor")
                hx = hx.unsqueeze(1)
            elif hx.dim() != 3:
                raise RuntimeError("For batched 3-D input, hx should also be 3-D but got "
                                   f"{hx.dim()}-D tensor")
        else:
            hx = self._zeros(input, self.hidden_size)
        self.check_forward_args(input, hx, None)
        x = input.transpose(0, 1) if self.batch_first else input
        output, hidden, _ = self._run(x, hx, None)
        if self.batch_first:
            output = output.transpose(0, 1)
        if not is_batched:
            output = output.squeeze(batch_dim)
            hidden = hidden.squeeze(1)
        return output, hidden

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (relu with nonlinearity='relu').
    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, device=None, dtype=None). forward(input, hx=None) -> (output, h_n)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_single_state(input, hx)


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o from x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh;
    c_t = f c_{t-1} + i g; h_t = o tanh(c_t), projected by W_hr when proj_size > 0.
    forward(input, (h0, c0)=None) -> (output, (h_n, c_n))."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes=None):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes=None):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx[0].index_select(1, permutation), hx[1].index_select(1, permutation)

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            output, h_n, c_n = self._forward_packed(input, hx)
            return output, (h_n, c_n)
        input, is_batched, batch_dim = self._prepare(input)
        if hx is None:
            real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = (self._zeros(input, real_hidden_size), self._zeros(input, self.hidden_size))
        else:
            if is_batched:
                if hx[0].dim() != 3 or hx[1].dim() != 3:
                    raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but got "
                                       f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            else:
                if hx[0].dim() != 2 or hx[1].dim() != 2:
                    raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D but got "
                                       f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self.check_forward_args(input, hx, None)
        x = input.transpose(0, 1) if self.batch_first else input
        output, h_n, c_n = self._run(x, hx[0], hx[1])
        if self.batch_first:
            output = output.transpose(0, 1)
        if not is_batched:
            output = output.squeeze(batch_dim)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = sigmoid(x W_i{r,z}^T + b_i{r,z} + h W_h{r,z}^T + b_h{r,z});
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)); h' = (1 - z) n + z h.
    forward(input, hx=None) -> (output, h_n)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_single_state(input, hx)


# ---- cells


def _check_cell_input(input, weight_ih):
    if input.size(1) != weight_ih.size(1):
        raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected "
                           f"{weight_ih.size(1)}")


def _check_cell_hidden(input, hx, hidden_size, label):
    # PyTorch's order: batch size first, then hidden size
    if input.size(0) != hx.size(0):
        raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{label} batch size "
                           f"{hx.size(0)}")
    if hx.dim() >= 2 and hx.size(1) != hidden_size:
        raise RuntimeError(f"hidden{label} has inconsistent hidden_size: got {hx.size(1)}, expected "
                           f"{hidden_size}")
    if hx.dim() != 2:
        # PyTorch's kernels do not check this (a 1-D input with 2-D hx gets here as 3-D)
        raise RuntimeError(f"hidden{label} must be 2-D (batch, hidden_size) for 2-D input, got {hx.dim()}-D")


class RNNCellBase(Module):
    """Base of the cells: weight_ih (num_chunks * hidden, input), weight_hh (num_chunks * hidden, hidden),
    bias_ih and bias_hh (num_chunks * hidden) when bias."""

    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(ctorch.empty(num_chunks * hidden_size, input_size, **kw))
        self.weight_hh = Parameter(ctorch.empty(num_chunks * hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(ctorch.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(ctorch.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        # PyTorch's default: every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batched(self, input, hx, name, hx_label="hidden"):
        """PyTorch's 1-D / 2-D handling: (input as 2-D, hx with a batch dim or None, is_batched)."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected {hx_label} to be 1D or 2D, got {hx.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
            if hx is not None:
                hx = hx.unsqueeze(0)
        return input, hx, is_batched

    def _zeros(self, input):
        return ctorch.zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)


class RNNCell(RNNCellBase):
    """One Elman step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (relu with nonlinearity='relu')."""

    __constants__ = ["input_size", "hidden_size", "bias", "nonlinearity"]

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, hx, is_batched = self._batched(input, hx, "RNNCell")
        if hx is None:
            hx = self._zeros(input)
        # like PyTorch, an unknown nonlinearity is only reported when the cell runs
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        _check_cell_input(input, self.weight_ih)
        _check_cell_hidden(input, hx, self.hidden_size, "0")
        pre = F.linear(input, self.weight_ih, self.bias_ih) + F.linear(hx, self.weight_hh, self.bias_hh)
        ret = pre.tanh() if self.nonlinearity == "tanh" else pre.relu()
        return ret if is_batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns (h', c') from input and (h, c) (zeros when hx is None)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"LSTMCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.dim()}D "
                                     "instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = self._zeros(input)
            hx = (zeros, zeros)
        elif not is_batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        _check_cell_input(input, self.weight_ih)
        _check_cell_hidden(input, hx[0], self.hidden_size, "0")
        _check_cell_hidden(input, hx[1], self.hidden_size, "1")
        gates = F.linear(input, self.weight_ih, self.bias_ih) + F.linear(hx[0], self.weight_hh, self.bias_hh)
        h, c = _lstm_cell_math(gates, hx[1])
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n as in GRU): returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, hx, is_batched = self._batched(input, hx, "GRUCell")
        if hx is None:
            hx = self._zeros(input)
        _check_cell_input(input, self.weight_ih)
        _check_cell_hidden(input, hx, self.hidden_size, "0")
        xg = F.linear(input, self.weight_ih, self.bias_ih)
        hg = F.linear(hx, self.weight_hh, self.bias_hh)
        ret = _gru_cell_math(xg, hg, hx, self.hidden_size)
        return ret if is_batched else ret.squeeze(0)
