"""Attention layers: MultiheadAttention, with PyTorch's parameter names, layout, initialisation, mask
semantics and (attn_output, attn_weights) return value."""
import math

import ctorch
from ctorch.nn import functional as F
from ctorch.nn import init
from ctorch.nn.modules.linear import Linear
from ctorch.nn.modules.module import Module
from ctorch.nn.parameter import Parameter

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A plain Linear; PyTorch uses this subclass name for out_proj (to keep it out of dynamic
    quantization), kept here so reprs and type names match."""


def _canonical_mask(mask, name, dtype):
    """A bool mask (True = masked out, MultiheadAttention's convention) as a float mask with -inf where
    True; float masks are returned unchanged."""
    if mask is None:
        return None
    if mask.dtype == ctorch.bool:
        return ctorch.zeros(tuple(mask.shape), dtype=dtype, device=mask.device).masked_fill(
            mask, float("-inf"))
    if not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


class MultiheadAttention(Module):
    """Multi-head attention: out_proj(concat_h softmax(q_h k_h^T / sqrt(head_dim) + mask) v_h) with
    q, k, v = in-projections of query, key, value. Inputs are (L, N, E) (or (N, L, E) with batch_first)
    or unbatched (L, E). key_padding_mask (N, S) and bool attn_mask use True = ignore this position;
    attn_mask is (L, S) or (N * num_heads, L, S)."""

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                             f"and num_heads={num_heads} instead")
        if add_bias_kv:
            raise NotImplementedError("MultiheadAttention: add_bias_kv is not supported by ctorch")
        if add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_zero_attn is not supported by ctorch")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        assert self.head_dim * num_heads == self.embed_dim, "embed_dim must be divisible by num_heads"
        kw = {"device": device, "dtype": dtype}
        # registration order follows PyTorch's so named_parameters / state_dict orders match
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(ctorch.empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(ctorch.empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(ctorch.empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(ctorch.empty(3 * embed_dim, embed_dim, **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(ctorch.empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        # PyTorch's: xavier_uniform_ on the in-projections, zero biases; out_proj.weight keeps Linear's init
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def _check_shapes(self, query, key, value, key_padding_mask, attn_mask, batched):
        if query.dim() not in (2, 3):
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                                 f"{query.dim()}-D query tensor")
        if key.dim() != query.dim() or value.dim() != query.dim():
            raise AssertionError(f"For {'batched (3-D)' if batched else 'unbatched (2-D)'} `query`, expected "
                                 f"`key` and `value` to be {query.dim()}-D but found {key.dim()}-D and "
                                 f"{value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != (2 if batched else 1):
            raise AssertionError(f"For {'batched (3-D)' if batched else 'unbatched (2-D)'} `query`, expected "
                                 f"`key_padding_mask` to be `None` or {2 if batched else 1}-D but found "
                                 f"{key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                                 f"{attn_mask.dim()}-D tensor instead")

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """Returns (attn_output, attn_weights): attn_output shaped like query (with embed_dim features);
        attn_weights (N, L, S) averaged over heads, (N, num_heads, L, S) when not average_attn_weights,
        without N for unbatched input, or None when not need_weights."""
        batched = query.dim() == 3
        self._check_shapes(query, key, value, key_padding_mask, attn_mask, batched)
        if is_causal and attn_mask is None:
            # PyTorch treats is_causal as a hint that attn_mask is the causal mask, and requires it
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                               "module method `generate_square_subsequent_mask` to create this mask.")
        # PyTorch's hint semantics: with no key_padding_mask and no weights wanted, is_causal replaces
        # attn_mask by the causal (lower-triangular) mask; otherwise attn_mask is used as given
        causal_hint = is_causal and key_padding_mask is None and not need_weights
        if causal_hint:
            attn_mask = None
        if self.batch_first and batched:
            query, key, value = query.transpose(1, 0), key.transpose(1, 0), value.transpose(1, 0)
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        tgt_len, bsz, embed_dim = query.shape
        src_len = key.size(0)
        if embed_dim != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but got {embed_dim}")
        if key.size(0) != value.size(0) or key.size(1) != value.size(1):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        H, hd = self.num_heads, self.head_dim
        dtype = query.dtype

        # in-projections
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        q = F.linear(query, wq, bq)
        k = F.linear(key, wk, bk)
        v = F.linear(value, wv, bv)

        # masks -> one additive float mask of shape (N*H or 1, L, S)
        mask = _canonical_mask(attn_mask, "attn_mask", dtype)
        if mask is not None:
            if mask.dim() == 2:
                if tuple(mask.shape) != (tgt_len, src_len):
                    raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(mask.shape)}, but should be "
                                       f"{(tgt_len, src_len)}.")
                mask = mask.unsqueeze(0)
            elif tuple(mask.shape) != (bsz * H, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(mask.shape)}, but should be "
                                   f"{(bsz * H, tgt_len, src_len)}.")
        kpm = _canonical_mask(key_padding_mask, "key_padding_mask", dtype)
        if kpm is not None:
            if tuple(kpm.shape) != (bsz, src_len):
                raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                     f"{tuple(kpm.shape)}")
            kpm = kpm.reshape(bsz, 1, 1, src_len).expand(bsz, H, 1, src_len).reshape(bsz * H, 1, src_len)
            mask = kpm if mask is None else mask + kpm

        # split heads: (L, N, E) -> (N*H, L, hd)
        q = q.reshape(tgt_len, bsz * H, hd).transpose(0, 1)
        k = k.reshape(src_len, bsz * H, hd).transpose(0, 1)
        v = v.reshape(src_len, bsz * H, hd).transpose(0, 1)
        dropout_p = self.dropout if self.training else 0.0

        if need_weights:
            scores = (q * (1.0 / math.sqrt(hd))).matmul(k.transpose(-2, -1))
            if mask is not None:
                scores = scores + mask
            weights = scores.softmax(-1)
            dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0.0 else weights
            out = dropped.matmul(v)
        else:
            # mask is (1 or N*H, L, S): it broadcasts against the (N*H, L, S) scores as a float mask
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                                 is_causal=causal_hint)
            weights = None

        out = out.transpose(0, 1).reshape(tgt_len * bsz, E)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias).reshape(tgt_len, bsz, E)
        if weights is not None:
            weights = weights.reshape(bsz, H, tgt_len, src_len)
            if average_attn_weights:
                weights = weights.mean(1)
        if not batched:
            out = out.squeeze(1)
            if weights is not None:
                weights = weights.squeeze(0)
        elif self.batch_first:
            out = out.transpose(1, 0)
        return out, weights
