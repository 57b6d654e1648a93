"""Bristol Fashion circuits: parsing into compact arrays, validation, plaintext evaluation.

Format (``shared/circuits/README.md``; https://nigelsmart.github.io/MPC-Circuits/)::

    <ngates> <nwires>
    <niv> <w_1> ... <w_niv>
    <nov> <v_1> ... <v_nov>

    <nin> <nout> <in...> <out...> <TYPE>      one gate per line, TYPE in XOR AND INV EQ EQW MAND

Inputs fill the first ``sum(w)`` wires value after value; outputs are the last ``sum(v)`` wires.
A value's first wire is its least significant bit (``int_hex`` convention of ``kat.json``).
``MAND`` (m ANDs on one line) is expanded into m AND gates. ``EQ`` assigns a public constant.

Every malformed file raises `BristolFormatError` naming the line; the checks are: integer
fields in range, wire indices in range, each wire written exactly once, gates in topological
order (inputs written before they are read), the declared gate and wire counts.
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mpc.errors import ParameterError

# Gate codes of the parsed arrays.
XOR, AND, INV, EQW, EQ = 0, 1, 2, 3, 4
GATE_NAMES = {XOR: "XOR", AND: "AND", INV: "INV", EQW: "EQW", EQ: "EQ"}

MAX_WIRES = 1 << 30  # int32 indices with headroom; far above any circuit we ship


class BristolFormatError(ParameterError):
    """A circuit file is malformed; `line` is the 1-based line number (None if not one line)."""

    def __init__(self, message: str, line: int | None = None, source: str = "<circuit>"):
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {message}")
        self.line = line


@dataclass(frozen=True)
class Circuit:
    """A validated Boolean circuit as flat arrays (one entry per AND/XOR/... gate after MAND expansion).

    `op[g]` is a gate code; `a[g]`, `b[g]` input wires (`b` = -1 for one-input gates; for EQ,
    `a` holds the constant 0/1); `c[g]` the output wire. `lines[g]` is the source line.
    """

    n_wires: int
    input_widths: tuple[int, ...]
    output_widths: tuple[int, ...]
    op: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    lines: np.ndarray
    name: str = "<circuit>"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_gates(self) -> int:
        return int(self.op.size)

    @property
    def n_inputs(self) -> int:
        """Total input wires (sum of the input value widths)."""
        return sum(self.input_widths)

    @property
    def n_outputs(self) -> int:
        return sum(self.output_widths)

    def input_offsets(self) -> list[int]:
        """First wire of each input value."""
        return list(np.cumsum((0,) + self.input_widths)[:-1])

    def output_wires(self) -> np.ndarray:
        return np.arange(self.n_wires - self.n_outputs, self.n_wires, dtype=np.int64)

    def counts(self) -> dict[str, int]:
        """Gate counts by type (MAND counted as its ANDs)."""
        hist = np.bincount(self.op, minlength=len(GATE_NAMES))
        return {GATE_NAMES[k]: int(hist[k]) for k in GATE_NAMES}

    @property
    def n_and(self) -> int:
        return int(np.count_nonzero(self.op == AND))

    def and_depth(self) -> int:
        """The largest number of AND gates on any input-to-output path."""
        return int(self.levels().max(initial=0))

    def levels(self) -> np.ndarray:
        """AND depth of every wire (inputs 0; XOR/INV/EQW keep it; AND adds one)."""
        if "levels" not in self._cache:
            lvl = np.zeros(self.n_wires, dtype=np.int64)
            op, a, b, c = self.op.tolist(), self.a.tolist(), self.b.tolist(), self.c.tolist()
            for g in range(len(op)):
                o = op[g]
                if o == EQ:
                    continue
                x = lvl[a[g]] if b[g] < 0 else max(lvl[a[g]], lvl[b[g]])
                lvl[c[g]] = x + 1 if o == AND else x
            self._cache["levels"] = lvl
        return self._cache["levels"]

    # ----------------------------------------------------------------- evaluation
    def evaluate(self, inputs, *, all_wires: bool = False):
        """Plaintext evaluation (for tests): `inputs` is one uint8 0/1 array (N, w_k) per input value.

        Returns the list of output values as uint8 arrays (N, v_k); with `all_wires`, the
        whole (N, n_wires) wire matrix instead.
        """
        if len(inputs) != len(self.input_widths):
            raise ParameterError(f"{self.name}: {len(inputs)} input values given, the circuit has "
                                 f"{len(self.input_widths)}")
        arrs = [np.asarray(x, dtype=np.uint8) for x in inputs]
        arrs = [x.reshape(1, -1) if x.ndim == 1 else x for x in arrs]
        n = arrs[0].shape[0] if arrs else 1
        for k, (x, w) in enumerate(zip(arrs, self.input_widths)):
            if x.shape != (n, w):
                raise ParameterError(f"{self.name}: input value {k} has shape {x.shape}, expected ({n}, {w})")
        wires = np.zeros((self.n_wires, n), dtype=np.uint8)
        if arrs:
            wires[: self.n_inputs] = np.concatenate(arrs, axis=1).T
        op, a, b, c = self.op.tolist(), self.a.tolist(), self.b.tolist(), self.c.tolist()
        for g in range(len(op)):
            o = op[g]
            if o == XOR:
                np.bitwise_xor(wires[a[g]], wires[b[g]], out=wires[c[g]])
            elif o == AND:
                np.bitwise_and(wires[a[g]], wires[b[g]], out=wires[c[g]])
            elif o == INV:
                np.bitwise_xor(wires[a[g]], 1, out=wires[c[g]])
            elif o == EQW:
                wires[c[g]] = wires[a[g]]
            else:
                wires[c[g]] = a[g]
        if all_wires:
            return wires.T.copy()
        return split_values(wires[self.n_wires - self.n_outputs :].T, self.output_widths)


# --------------------------------------------------------------------- values <-> bits
def split_values(bits: np.ndarray, widths) -> list[np.ndarray]:
    """Cut an (N, sum(widths)) bit matrix into one (N, w) array per value."""
    out, pos = [], 0
    for w in widths:
        out.append(bits[:, pos : pos + w])
        pos += w
    return out


def int_to_bits(values, width: int) -> np.ndarray:
    """Integers (one per instance) to an (N, width) uint8 bit matrix, bit k = wire k (LSB first)."""
    vals = [int(v) for v in np.atleast_1d(np.asarray(values, dtype=object))]
    nbytes = (width + 7) // 8
    raw = bytearray()
    for v in vals:
        if v < 0 or v >> width:
            raise ParameterError(f"value {v:#x} does not fit in {width} bits")
        raw += v.to_bytes(nbytes, "little")
    bits = np.unpackbits(np.frombuffer(bytes(raw), dtype=np.uint8).reshape(len(vals), nbytes),
                         axis=1, bitorder="little")
    return bits[:, :width]


def bits_to_int(bits: np.ndarray) -> list[int]:
    """The inverse of `int_to_bits`: one integer per row."""
    bits = np.asarray(bits, dtype=np.uint8)
    packed = np.packbits(bits, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def hex_to_int(text: str, width: int) -> int:
    """Parse an `int_hex` value (optional 0x; at most `width` bits)."""
    t = text.strip().lower()
    if t.startswith("0x"):
        t = t[2:]
    try:
        v = int(t, 16)
    except ValueError:
        raise ParameterError(f"{text!r} is not a hexadecimal value") from None
    if v >> width:
        raise ParameterError(f"{text!r} does not fit in {width} bits")
    return v


def int_to_hex(value: int, width: int) -> str:
    """Hex zero-padded to the value's width (the `int_hex` convention)."""
    return format(value, f"0{(width + 3) // 4}x")


# --------------------------------------------------------------------- parsing
def _ints(tokens, lineno: int, source: str, what: str) -> list[int]:
    out = []
    for t in tokens:
        if not (t.isascii() and t.isdigit()) or len(t) > 12:  # plain ASCII decimals of sane length
            raise BristolFormatError(f"{what}: {t!r} is not a non-negative integer", lineno, source)
        out.append(int(t))
    return out


_ARITY = {"XOR": (2, 1), "AND": (2, 1), "INV": (1, 1), "EQW": (1, 1), "EQ": (1, 1)}
# Fast paths for the common gate lines; anything else goes through the field-by-field checks.
_BIN = re.compile(r"\s*2\s+1\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(XOR|AND)\s*", re.ASCII)
_UN = re.compile(r"\s*1\s+1\s+(\d{1,12})\s+(\d{1,12})\s+(INV|EQW|EQ)\s*", re.ASCII)
_CODE = {"XOR": XOR, "AND": AND, "INV": INV, "EQW": EQW, "EQ": EQ}


def parse(text: str, name: str = "<circuit>") -> Circuit:
    """Parse and validate Bristol Fashion text; raises `BristolFormatError` naming the line."""
    if not isinstance(text, str):
        raise BristolFormatError("circuit text must be str", None, name)
    lines = text.split("\n")
    # Non-blank lines with their 1-based numbers.
    body = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if len(body) < 3:
        raise BristolFormatError("a circuit needs the three header lines", len(lines), name)
    (l1, h1), (l2, h2), (l3, h3) = ((ln, raw.split()) for ln, raw in body[:3])
    hdr = _ints(h1, l1, name, "header")
    if len(hdr) != 2:
        raise BristolFormatError("line 1 must be '<ngates> <nwires>'", l1, name)
    ngates, nwires = hdr
    ins = _ints(h2, l2, name, "input header")
    outs = _ints(h3, l3, name, "output header")
    for (ln, vals, what) in ((l2, ins, "input"), (l3, outs, "output")):
        if not vals or len(vals) != vals[0] + 1:
            raise BristolFormatError(f"{what} header must be '<count> <width_1> ... <width_count>'", ln, name)
        if any(w == 0 for w in vals[1:]):
            raise BristolFormatError(f"{what} value widths must be positive", ln, name)
    in_widths, out_widths = tuple(ins[1:]), tuple(outs[1:])
    if nwires > MAX_WIRES:
        raise BristolFormatError(f"{nwires} wires is more than this engine supports ({MAX_WIRES})", l1, name)
    if sum(in_widths) > nwires or sum(out_widths) > nwires:
        raise BristolFormatError("the input or output widths add up to more wires than declared", l2, name)
    gate_lines = body[3:]
    if len(gate_lines) != ngates:
        raise BristolFormatError(f"header declares {ngates} gates but the file has {len(gate_lines)} gate lines",
                                 l1, name)
    n_written = sum(in_widths)
    op, a, b, c, src = [], [], [], [], []
    for ln, raw in gate_lines:
        fast = _BIN.fullmatch(raw)
        if fast is not None:
            x, y, z, kind = fast.groups()
            n_written += 1
            if n_written > nwires:
                raise BristolFormatError(f"more wires written than the {nwires} declared", ln, name)
            op.append(AND if kind == "AND" else XOR)
            a.append(int(x))
            b.append(int(y))
            c.append(int(z))
            src.append(ln)
            continue
        fast = _UN.fullmatch(raw)
        if fast is not None:
            x, z, kind = fast.groups()
            n_written += 1
            if n_written > nwires:
                raise BristolFormatError(f"more wires written than the {nwires} declared", ln, name)
            if kind == "EQ" and int(x) > 1:
                raise BristolFormatError(f"EQ constant must be 0 or 1, not {int(x)}", ln, name)
            op.append(_CODE[kind])
            a.append(int(x))
            b.append(-1)
            c.append(int(z))
            src.append(ln)
            continue
        toks = raw.split()
        if len(toks) < 4:
            raise BristolFormatError(f"gate line has {len(toks)} fields, needs at least 4", ln, name)
        kind = toks[-1]
        nin, nout = _ints(toks[:2], ln, name, "gate arity")
        if kind == "MAND":
            if nout == 0 or nin != 2 * nout:
                raise BristolFormatError("MAND needs '2m m' inputs and outputs", ln, name)
        elif kind in _ARITY:
            if (nin, nout) != _ARITY[kind]:
                raise BristolFormatError(f"{kind} needs {_ARITY[kind][0]} input(s) and 1 output, "
                                         f"not {nin} and {nout}", ln, name)
        else:
            raise BristolFormatError(f"unknown gate type {kind!r}", ln, name)
        if len(toks) != 3 + nin + nout:
            raise BristolFormatError(f"gate line has {len(toks)} fields, expected {3 + nin + nout}", ln, name)
        nums = _ints(toks[2:-1], ln, name, "wire")
        n_written += nout
        if n_written > nwires:
            raise BristolFormatError(f"more wires written than the {nwires} declared", ln, name)
        if kind == "MAND":
            m = nout
            op += [AND] * m
            a += nums[:m]
            b += nums[m : 2 * m]
            c += nums[2 * m :]
            src += [ln] * m
            continue
        op.append(_CODE[kind])
        if kind == "EQ":
            if nums[0] > 1:
                raise BristolFormatError(f"EQ constant must be 0 or 1, not {nums[0]}", ln, name)
            a.append(nums[0])
            b.append(-1)
        else:
            a.append(nums[0])
            b.append(nums[1] if nin == 2 else -1)
        c.append(nums[-1])
        src.append(ln)
    if n_written != nwires:
        raise BristolFormatError(f"inputs and gates write {n_written} wires but {nwires} are declared", l1, name)
    for vals, ln in ((a, None), (b, None), (c, None)):
        if vals and max(vals) >= nwires:
            bad = next(i for i, v in enumerate(vals) if v >= nwires)
            raise BristolFormatError(f"wire {vals[bad]} is out of range (0..{nwires - 1})", src[bad], name)
    circ = Circuit(
        n_wires=nwires,
        input_widths=in_widths,
        output_widths=out_widths,
        op=np.asarray(op, dtype=np.uint8),
        a=np.asarray(a, dtype=np.int32),
        b=np.asarray(b, dtype=np.int32),
        c=np.asarray(c, dtype=np.int32),
        lines=np.asarray(src, dtype=np.int64),
        name=name,
    )
    _validate_wiring(circ)
    return circ


def _validate_wiring(circ: Circuit) -> None:
    """Each wire written once, gates in topological order (vectorised)."""
    n_in, nw, name = circ.n_inputs, circ.n_wires, circ.name
    writer = np.full(nw, -1, dtype=np.int64)  # -1 an input, g: written by gate g
    gidx = np.arange(circ.n_gates, dtype=np.int64)
    if circ.n_gates:
        if n_in:
            early = np.flatnonzero(circ.c < n_in)
            if early.size:
                g = int(early[0])
                raise BristolFormatError(f"gate writes input wire {int(circ.c[g])}", int(circ.lines[g]), name)
        order = np.argsort(circ.c, kind="stable")
        sc = circ.c[order]
        dup = np.flatnonzero(sc[1:] == sc[:-1])
        if dup.size:
            g = int(max(order[dup[0]], order[dup[0] + 1]))
            raise BristolFormatError(f"wire {int(circ.c[g])} is written a second time", int(circ.lines[g]), name)
        writer[circ.c] = gidx
    # No wire is left unwritten: parse() checked that inputs plus gate outputs count exactly
    # n_wires, and above that no wire is written twice.
    for col, label in ((circ.a, "first"), (circ.b, "second")):
        reads = col >= 0
        if circ.op.size:
            reads &= circ.op != EQ
        late = np.flatnonzero(reads & (writer[np.where(reads, col, 0)] >= gidx))
        if late.size:
            g = int(late[0])
            raise BristolFormatError(
                f"gate reads wire {int(col[g])} ({label} input) before it is written (not in topological order)",
                int(circ.lines[g]), name)


def load(path) -> Circuit:
    """Parse a circuit file (a path, or the name of a circuit shipped with the package)."""
    p = Path(path)
    if not p.exists():
        shipped = shipped_path(str(path))
        if shipped is None:
            raise ParameterError(f"no circuit file {path!s} and no shipped circuit of that name "
                                 f"(shipped: {', '.join(shipped_names())})")
        p = shipped
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BristolFormatError(f"cannot read the file: {exc}", None, str(p)) from None
    return parse(text, name=p.name)


def header(path) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The input and output value widths of a circuit file, read from its header lines only
    (for parameter checks that should not parse the whole circuit)."""
    p = Path(path) if Path(path).exists() else shipped_path(str(path))
    if p is None:
        raise ParameterError(f"no circuit file {path!s} and no shipped circuit of that name")
    rows = []
    with open(p, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                rows.append(_ints(line.split(), lineno, p.name, "header"))
            if len(rows) == 3:
                break
    if len(rows) < 3 or any(not r or len(r) != r[0] + 1 for r in rows[1:]):
        raise BristolFormatError("malformed header", None, p.name)
    return tuple(rows[1][1:]), tuple(rows[2][1:])


def _circuit_dir():
    return importlib.resources.files("mpc.gc.circuits")


def shipped_names() -> list[str]:
    """Names of the circuits shipped with the package (file names without .txt)."""
    return sorted(f.name[:-4] for f in _circuit_dir().iterdir() if f.name.endswith(".txt"))


def shipped_path(name: str) -> Path | None:
    """The path of a shipped circuit (`aes_128` or `aes_128.txt`), None if there is none."""
    base = name[:-4] if name.endswith(".txt") else name
    if base not in shipped_names():
        return None
    return Path(str(_circuit_dir() / f"{base}.txt"))
