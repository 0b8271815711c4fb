"""TFLite's builtin operators in torch, with TFLite's meaning: tensors stay in TFLite's NHWC
layout (a reshape or a shape computed inside the graph then means what it meant there), and a
convolution sees them as channels-last NCHW views, so no copy is made around it.

Each operator takes its input values (torch tensors, None for a left-out optional input) and
its options, and returns its outputs. Convolution weights arrive already in torch's layout
(`weight_layout`). Only what a float model needs is here; `SUPPORTED` lists it."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

SAME, VALID = 0, 1  # TFLite's Padding
ACTIVATIONS: dict[int, Callable] = {
    0: lambda x: x, 1: F.relu, 2: lambda x: x.clamp(-1, 1), 3: lambda x: x.clamp(0, 6),
    4: torch.tanh,
}  # fmt: skip


def weight_layout(kind: str, weight: torch.Tensor) -> torch.Tensor:
    """A convolution's TFLite weight ([O, KH, KW, I]; depthwise [1, KH, KW, C]) in torch's
    layout, channels-last like the activations."""
    if kind == "CONV_2D":
        weight = weight.permute(0, 3, 1, 2)
    elif kind == "DEPTHWISE_CONV_2D":
        weight = weight.permute(3, 0, 1, 2)
    else:
        return weight
    return weight.contiguous(memory_format=torch.channels_last)


def _activate(x: torch.Tensor, options: dict) -> torch.Tensor:
    code = options.get("fusedActivationFunction", 0)
    if code not in ACTIVATIONS:
        raise NotImplementedError(f"fused activation {code}")
    return ACTIVATIONS[code](x)


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding of one dimension: (before, after), the extra one after."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _nchw_padded(x: torch.Tensor, options: dict, kh: int, kw: int, value=0.0) -> torch.Tensor:
    """NHWC `x` as an NCHW view, padded as TFLite pads it (SAME or VALID)."""
    x = x.permute(0, 3, 1, 2)
    if options.get("padding", SAME) == SAME:
        top, bottom = _same_padding(x.shape[2], kh, options["strideH"],
                                    options.get("dilationHFactor", 1))  # fmt: skip
        left, right = _same_padding(x.shape[3], kw, options["strideW"],
                                    options.get("dilationWFactor", 1))  # fmt: skip
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom), value=value)
    return x


def conv_2d(args, options):
    x, weight, bias = args
    y = F.conv2d(
        _nchw_padded(x, options, weight.shape[2], weight.shape[3]), weight, bias,
        (options["strideH"], options["strideW"]),
        dilation=(options.get("dilationHFactor", 1), options.get("dilationWFactor", 1)),
    )  # fmt: skip
    return [_activate(y.permute(0, 2, 3, 1), options)]


def depthwise_conv_2d(args, options):
    x, weight, bias = args
    if options.get("depthMultiplier", 1) not in (0, 1):
        raise NotImplementedError("depthwise convolution with a depth multiplier")
    y = F.conv2d(
        _nchw_padded(x, options, weight.shape[2], weight.shape[3]), weight, bias,
        (options["strideH"], options["strideW"]),
        dilation=(options.get("dilationHFactor", 1), options.get("dilationWFactor", 1)),
        groups=weight.shape[0],
    )  # fmt: skip
    return [_activate(y.permute(0, 2, 3, 1), options)]


def _pool(pool, value):
    def run(args, options):
        kh, kw = options["filterHeight"], options["filterWidth"]
        x = _nchw_padded(args[0], options, kh, kw, value)
        if pool is F.avg_pool2d and options.get("padding", SAME) == SAME:
            # TensorFlow averages over the window's real values only
            stride = (options["strideH"], options["strideW"])
            ones = _nchw_padded(torch.ones_like(args[0][:1, ..., :1]), options, kh, kw)
            counts = F.avg_pool2d(ones, (kh, kw), stride, divisor_override=1)
            y = F.avg_pool2d(x, (kh, kw), stride, divisor_override=1) / counts
        else:
            y = pool(x, (kh, kw), (options["strideH"], options["strideW"]))
        return [_activate(y.permute(0, 2, 3, 1), options)]

    return run


def fully_connected(args, options):
    x, weight = args[0], args[1]
    bias = args[2] if len(args) > 2 else None
    if options.get("keepNumDims"):
        y = F.linear(x, weight, bias)
    else:
        y = F.linear(x.reshape(-1, weight.shape[1]), weight, bias)
    return [_activate(y, options)]


def _binary(fn):
    def run(args, options):
        return [_activate(fn(args[0], args[1]), options)]

    return run


def _axes(t: torch.Tensor, rank: int) -> list[int]:
    return sorted({int(a) % rank for a in t.reshape(-1).tolist()})


def _reducer(fn):
    def run(args, options):
        x, axes = args[0], _axes(args[1], args[0].dim())
        keep = bool(options.get("keepDims", False))
        if not axes:
            return [x]
        return [fn(x, axes, keep)]

    return run


def _reduce_minmax(op):
    def fn(x, axes, keep):
        for a in sorted(axes, reverse=True):
            x = op(x, dim=a, keepdim=keep).values
        return x

    return fn


def _reduce_prod(x, axes, keep):
    for a in sorted(axes, reverse=True):
        x = torch.prod(x, dim=a, keepdim=keep)
    return x


def reshape(args, options):
    x = args[0]
    if len(args) > 1 and args[1] is not None:
        shape = [int(v) for v in args[1].reshape(-1).tolist()]
    else:
        shape = list(options.get("newShape") or [])
    return [x.reshape(shape)]


def strided_slice(args, options):
    x, begin, end, strides = (a.reshape(-1).tolist() if i else a for i, a in enumerate(args))
    if options.get("ellipsisMask") or options.get("newAxisMask") or options.get("offset"):
        raise NotImplementedError("strided slice with an ellipsis, new axes or offset")
    index, shrink = [], []
    for d, (b, e, s) in enumerate(zip(begin, end, strides, strict=True)):
        if options.get("shrinkAxisMask", 0) >> d & 1:
            index.append(slice(b, b + 1 if b != -1 else None, 1))
            shrink.append(d)
            continue
        start = None if options.get("beginMask", 0) >> d & 1 else b
        stop = None if options.get("endMask", 0) >> d & 1 else e
        index.append(slice(start, stop, s))
    if any(s.step is not None and s.step < 0 for s in index):
        raise NotImplementedError("strided slice with a negative stride")
    y = x[tuple(index)]
    for d in reversed(shrink):
        y = y.squeeze(d)
    return [y]


def gather(args, options):
    x, idx = args
    if options.get("batchDims", 0):
        raise NotImplementedError("gather with batch dimensions")
    axis = options.get("axis", 0) % x.dim()
    flat = torch.index_select(x, axis, idx.reshape(-1).long().to(x.device))
    shape = [*x.shape[:axis], *idx.shape, *x.shape[axis + 1 :]]
    return [flat.reshape(shape)]


def split_v(args, options):
    x, sizes, axis = args[0], args[1].reshape(-1).tolist(), int(args[2]) % args[0].dim()
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    return list(torch.split(x, sizes, dim=axis))


def rfft2d(args, options):
    """In float64, as TFLite's kernel computes it (its fft2d library works in doubles): a
    float32 FFT differs by rounding that a power law downstream amplifies near zero. The
    result stays complex128 until a CAST takes its real part to float32, as TFLite's would
    (one copy fewer than rounding it to complex64 first). `single` (a caller's choice, not
    TFLite's): in float32, twice as fast."""
    x, length = args[0], [int(v) for v in args[1].tolist()]
    x = x if options.get("single") else x.double()
    if length[0] == 1 and x.shape[-2] == 1:  # a 1-D transform of each row, as BirdNET's STFT
        return [torch.fft.rfft(x, n=length[1], dim=-1)]  # (twice as fast as rfft2's route)
    return [torch.fft.rfft2(x, s=length, dim=(-2, -1))]


def cast(args, options):
    x = args[0]
    if x.is_complex():  # TFLite's complex -> float cast keeps the real part
        return [x.real.to(torch.float32, memory_format=torch.contiguous_format)]
    raise NotImplementedError("a cast other than complex64 -> float32")


def squeeze(args, options):
    x = args[0]
    dims = options.get("squeezeDims") or [d for d, n in enumerate(x.shape) if n == 1]
    for d in sorted((int(d) % x.dim() for d in dims), reverse=True):
        x = x.squeeze(d)
    return [x]


def silu(args, options):
    """LOGISTIC then MUL of its input by it, fused (`tflite_module` finds the pair): one pass
    over the activations instead of two."""
    return [F.silu(args[0])]


SUPPORTED: dict[str, Callable] = {
    "SILU": silu,
    "CONV_2D": conv_2d,
    "DEPTHWISE_CONV_2D": depthwise_conv_2d,
    "AVERAGE_POOL_2D": _pool(F.avg_pool2d, 0.0),
    "MAX_POOL_2D": _pool(F.max_pool2d, -math.inf),
    "FULLY_CONNECTED": fully_connected,
    "ADD": _binary(torch.add),
    "SUB": _binary(torch.sub),
    "MUL": _binary(torch.mul),
    "DIV": _binary(torch.div),
    "POW": _binary(torch.pow),
    "MAXIMUM": _binary(torch.maximum),
    "FLOOR_DIV": _binary(lambda a, b: torch.div(a, b, rounding_mode="floor")),
    "LOGISTIC": lambda args, options: [torch.sigmoid(args[0])],
    "MEAN": _reducer(lambda x, axes, keep: x.mean(dim=axes, keepdim=keep)),
    "REDUCE_MIN": _reducer(_reduce_minmax(torch.min)),
    "REDUCE_MAX": _reducer(_reduce_minmax(torch.max)),
    "REDUCE_PROD": _reducer(_reduce_prod),
    "RESHAPE": reshape,
    "SHAPE": lambda args, options: [torch.tensor(args[0].shape, dtype=torch.int32)],
    "PACK": lambda args, options: [torch.stack(args, dim=options.get("axis", 0))],
    "CONCATENATION": lambda args, options: [
        _activate(torch.cat(args, dim=options.get("axis", 0)), options)],
    "EXPAND_DIMS": lambda args, options: [args[0].unsqueeze(int(args[1]))],
    "SQUEEZE": squeeze,
    "TRANSPOSE": lambda args, options: [args[0].permute(*args[1].tolist())],
    "REVERSE_V2": lambda args, options: [args[0].flip(args[1].reshape(-1).tolist())],
    "STRIDED_SLICE": strided_slice,
    "GATHER": gather,
    "SPLIT_V": split_v,
    "RANGE": lambda args, options: [
        torch.arange(int(args[0]), int(args[1]), int(args[2]), dtype=args[0].dtype)],
    "PAD": lambda args, options: [
        F.pad(args[0], [int(v) for pair in reversed(args[1].tolist()) for v in pair])],
    "RFFT2D": rfft2d,
    "CAST": cast,
}  # fmt: skip
