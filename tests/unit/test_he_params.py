"""mpc.he.params and contexts: the 128-bit helper, one refusal per misconfiguration, keys that never leave."""

import numpy as np
import pytest

tenseal = pytest.importorskip("tenseal")

from mpc.errors import (DepthExhausted, HEFormatError, HEKeyMissing, InsecureParameters, ScaleOutOfBounds,  # noqa: E402
                        TooManySlots, ValueOutOfRange)
from mpc.he import CKKSParams, HEContext, bfv_params, check_ckks, ckks_params  # noqa: E402
from mpc.he.params import MAX_COEFF_BITS_128, BFVParams, check_bfv  # noqa: E402


@pytest.mark.parametrize("depth", [0, 1, 3, 6, 12])
def test_helper_stays_within_the_standard(depth):
    p = ckks_params(depth, 20, 1024)
    assert p.total_bits <= MAX_COEFF_BITS_128[p.poly_modulus_degree]
    assert p.depth >= depth and p.slots >= 1024
    assert all(b == p.scale_bits for b in p.coeff_mod_bit_sizes[1:-1])


def test_helper_grows_the_degree_with_the_depth():
    assert ckks_params(1, 20, 16).poly_modulus_degree < ckks_params(9, 20, 16).poly_modulus_degree


def test_insecure_total_modulus_refused():
    with pytest.raises(InsecureParameters, match="218 bits allowed at N=8192"):
        check_ckks(CKKSParams(8192, (60, 40, 40, 40, 60), 40))
    with pytest.raises(InsecureParameters, match="power of two"):
        check_ckks(CKKSParams(6000, (30, 30), 20))


def test_scale_out_of_bounds_refused():
    with pytest.raises(ScaleOutOfBounds, match="does not match the data primes"):
        check_ckks(CKKSParams(8192, (60, 30, 30, 60), 40))
    with pytest.raises(ScaleOutOfBounds, match="must exceed the scale"):
        check_ckks(CKKSParams(8192, (40, 40, 40, 60), 40))
    with pytest.raises(ScaleOutOfBounds, match="below 2\\^20"):
        check_ckks(CKKSParams(8192, (30, 16, 30), 16))


def test_depth_exhausted_refused():
    p = ckks_params(2, 20, 16)
    with pytest.raises(DepthExhausted, match="needs 3 multiplicative levels"):
        check_ckks(p, depth=3)
    with pytest.raises(DepthExhausted, match="no bootstrapping"):
        ckks_params(40, 20, 16, max_value=4)


def test_too_many_slots_refused():
    p = ckks_params(1, 20, 4096)
    with pytest.raises(TooManySlots, match=f"{p.slots} slots"):
        check_ckks(p, size=p.slots + 1)
    with pytest.raises(TooManySlots):
        ckks_params(1, 20, 20000)
    with pytest.raises(TooManySlots):
        check_bfv(bfv_params(4096, 30), size=5000)


def test_value_out_of_range_refused():
    p = ckks_params(1, 20, 16, max_value=100)
    with pytest.raises(ValueOutOfRange, match="garbage"):
        check_ckks(p, max_value=p.max_value * 2)
    with pytest.raises(ValueOutOfRange, match="batching"):
        check_bfv(BFVParams(8192, (43, 43, 44, 44, 44), 1032191))


def test_errors_come_before_tenseal_would_fail_silently():
    """A value beyond q0 decrypts to garbage in raw TenSEAL; our context refuses to encrypt it."""
    p = ckks_params(0, 20, 16, max_value=8)
    ctx = HEContext.generate(p, relin=False)
    with pytest.raises(ValueOutOfRange):
        ctx.encrypt(np.array([p.max_value * 4]))
    with pytest.raises(TooManySlots):
        ctx.encrypt(np.zeros(p.slots + 1))


def test_evaluator_context_has_no_secret_key_and_cannot_decrypt():
    key = HEContext.generate(ckks_params(1, 20, 16))
    wire = key.to_bytes()  # what an evaluator receives
    ev = HEContext.from_bytes(wire, evaluator=True)
    assert key.is_private and not ev.is_private and ev.has_relin
    v = ev.encrypt(np.array([1.5, -2.0]))
    with pytest.raises(HEKeyMissing):
        ev.decrypt(v)
    with pytest.raises(ValueError):  # TenSEAL itself: no secret key anywhere in the object
        v.decrypt()
    assert np.allclose(key.decrypt(key.load_vector(v.serialize()))[:2], [1.5, -2.0], atol=1e-5)
    with pytest.raises(HEFormatError, match="secret key"):
        HEContext.from_bytes(key.to_bytes(secret=True), evaluator=True)


def test_untrusted_bytes_refused():
    key = HEContext.generate(ckks_params(0, 20, 16), relin=False)
    wire = key.to_bytes()
    for bad in (b"", b"junk" * 10, wire[:-5], wire[:6] + b"\xff\xff\xff\xff" + wire[10:]):
        with pytest.raises(HEFormatError):
            HEContext.from_bytes(bad)
    with pytest.raises(HEFormatError):
        key.load_vector(b"\x00" * 100)
    other = HEContext.generate(ckks_params(0, 24, 16), relin=False)
    with pytest.raises(HEFormatError):
        key.load_vector(other.encrypt(np.ones(3)).serialize())


def test_bfv_sums_are_exact_modulo_t():
    p = bfv_params(8, 20)
    ctx = HEContext.generate(p, relin=False)
    t = p.plain_modulus
    a = np.array([t // 2 - 1, -(t // 2) + 3, 7, 0, 1, 2, 3, 4])
    b = np.array([5, -7, 11, 0, 1, 2, 3, 4])
    got = ctx.decrypt(ctx.encrypt(a) + ctx.encrypt(b))[:8]
    want = (a + b + t // 2) % t - t // 2  # centred residue modulo t
    assert np.array_equal(got, want)
