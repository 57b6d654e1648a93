"""Models evaluated under HE: dense layers from a flat parameter vector, polynomial activations.

What it computes: `Model` (dense layers W·x + b with a polynomial activation between them and an
optional polynomial on the output), built from a flat parameter vector and the layer sizes
(`Model.from_flat(flat, sizes)`; per layer W row-major (out × in) then b (out), so a logistic
model over d features is the flat vector [w₁..w_d, b]: the layout of `mpc.learn`'s flat models),
its multiplicative depth under column-major evaluation, and two plaintext references: `poly_forward`
(the same polynomial model in float64, what HE computes up to CKKS noise) and `true_forward` (with
the exact sigmoid, which the polynomial approximates). `to_bytes`/`from_bytes` is a small JSON
model format for a model sent to an evaluator.

Security: none (the model is the evaluator's input, in the clear).
Cost: plaintext numpy.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from mpc.errors import ParameterError, ShapeError
from mpc.he.poly import Poly, _sigmoid, identity, sigmoid_poly, square

FORMAT = "mpc-he-model"


@dataclass
class Model:
    """Dense layers [(W, b), ...]; `hidden` applied between layers; `output` after the last (or None)."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    hidden: Poly = field(default_factory=square)
    output: Poly | None = None

    def __post_init__(self):
        if not self.layers:
            raise ParameterError("a model needs at least one layer")
        fixed = []
        for i, (w, b) in enumerate(self.layers):
            w = np.asarray(w, dtype=np.float64)
            b = np.asarray(b, dtype=np.float64).reshape(-1)
            if w.ndim != 2 or b.shape != (w.shape[0],):
                raise ShapeError(f"layer {i}: W must be (out, in) and b (out,), got {w.shape} and {b.shape}")
            if i and w.shape[1] != fixed[-1][0].shape[0]:
                raise ShapeError(f"layer {i} takes {w.shape[1]} inputs but layer {i - 1} gives {fixed[-1][0].shape[0]}")
            if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
                raise ParameterError(f"layer {i} has non-finite parameters")
            fixed.append((w, b))
        self.layers = fixed

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_flat(cls, flat, sizes: list[int], *, hidden: Poly | None = None, output: Poly | None = None) -> "Model":
        """Layers of sizes[0] → sizes[1] → ... from a flat vector (per layer: W row-major, then b)."""
        flat = np.asarray(flat, dtype=np.float64).reshape(-1)
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ShapeError(f"sizes must list at least input and output widths, got {sizes}")
        need = sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:]))
        if flat.size != need:
            raise ShapeError(f"a model with sizes {sizes} has {need} parameters; the flat vector has {flat.size}")
        layers, off = [], 0
        for i, o in zip(sizes[:-1], sizes[1:]):
            w = flat[off:off + o * i].reshape(o, i)
            off += o * i
            layers.append((w, flat[off:off + o]))
            off += o
        return cls(layers, hidden if hidden is not None else square(), output)

    @classmethod
    def logistic(cls, weights, bias: float = 0.0, *, sigmoid: Poly | None = None) -> "Model":
        """σ(w·x + b) with a polynomial sigmoid (default degree 3 on [−8, 8])."""
        w = np.asarray(weights, dtype=np.float64).reshape(1, -1)
        return cls([(w, np.array([float(bias)]))], identity(), sigmoid if sigmoid is not None else sigmoid_poly(3, 8.0))

    @classmethod
    def linear(cls, weights, bias: float = 0.0) -> "Model":
        w = np.asarray(weights, dtype=np.float64).reshape(1, -1)
        return cls([(w, np.array([float(bias)]))], identity(), None)

    def flat(self) -> np.ndarray:
        return np.concatenate([np.concatenate([w.reshape(-1), b]) for w, b in self.layers])

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0][0].shape[1]] + [w.shape[0] for w, _ in self.layers]

    @property
    def depth(self) -> int:
        """Levels spent: one per layer (plaintext-weight products), the hidden polynomial between layers,
        the output polynomial at the end."""
        d = len(self.layers) + (len(self.layers) - 1) * self.hidden.depth
        return d + (self.output.depth if self.output is not None else 0)

    # ------------------------------------------------------------------ plaintext references
    def poly_forward(self, x) -> np.ndarray:
        """The polynomial model in float64 (rows × outputs): what encrypted inference approximates."""
        h = np.asarray(x, dtype=np.float64)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = self.hidden(h)
        return self.output(h) if self.output is not None else h

    def true_forward(self, x) -> np.ndarray:
        """The same network with the exact sigmoid on the output (what the polynomial stands for)."""
        h = np.asarray(x, dtype=np.float64)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = self.hidden(h)
        if self.output is not None and self.output.name.startswith("sigmoid"):
            return _sigmoid(h)
        return self.output(h) if self.output is not None else h

    def preactivation_bound(self, input_bound: float) -> float:
        """max |pre-activation of the output polynomial| for inputs |x_j| ≤ input_bound (worst case)."""
        m = float(input_bound)
        for i, (w, b) in enumerate(self.layers):
            m = float(np.max(np.abs(w).sum(axis=1) * m + np.abs(b)))
            if i < len(self.layers) - 1:
                m = float(sum(abs(a) * m ** k for k, a in enumerate(self.hidden.coeffs)))
        return m

    # ------------------------------------------------------------------ format
    def to_bytes(self) -> bytes:
        doc = {"format": FORMAT, "version": 1, "sizes": self.sizes, "flat": self.flat().tolist(),
               "hidden": self.hidden.to_dict(), "output": self.output.to_dict() if self.output else None}
        return json.dumps(doc).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Model":
        try:
            doc = json.loads(data)
            if doc.get("format") != FORMAT or doc.get("version") != 1:
                raise ParameterError(f"not an {FORMAT} v1 document")
            hidden = Poly.from_dict(doc["hidden"])
            output = Poly.from_dict(doc["output"]) if doc["output"] else None
            return cls.from_flat(doc["flat"], [int(s) for s in doc["sizes"]], hidden=hidden, output=output)
        except (ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, ParameterError):
                raise
            raise ParameterError(f"malformed {FORMAT} document: {exc}") from None


def check_radius(model: Model, input_bound: float) -> float:
    """The worst-case pre-activation bound; refuses it beyond the output polynomial's stated range."""
    z = model.preactivation_bound(input_bound)
    if model.output is not None and math.isfinite(model.output.radius) and z > model.output.radius:
        from mpc.errors import ValueOutOfRange

        raise ValueOutOfRange(
            f"for inputs |x| ≤ {input_bound:g} the model's output pre-activation can reach {z:.3g}, beyond the range "
            f"±{model.output.radius:g} where {model.output.name} approximates within {model.output.error:.3g}; "
            f"scale the features down or use sigmoid_poly(degree, radius={math.ceil(z)})")
    return z
