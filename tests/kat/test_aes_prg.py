"""Known-answer tests of the AES-CTR PRG against FIPS-197 and the `cryptography` package."""

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mpc import _native
from mpc.crypto import PRG


@pytest.fixture(params=["vaes", "aesni", "portable"])
def isa(request):
    _native.set_isa_cap(request.param)
    yield _native.active_isa()
    _native.set_isa_cap("vaes")


def test_fips197_c1():
    out = _native.aes128_ecb_encrypt(bytes.fromhex("000102030405060708090a0b0c0d0e0f"),
                                      bytes.fromhex("00112233445566778899aabbccddeeff"))
    if out is None:
        pytest.skip("CPU without AES-NI")
    assert out.hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"


@pytest.mark.parametrize("nbytes", [0, 1, 15, 16, 17, 255, 256, 257, 4099, 1 << 20])
def test_ctr_stream_equals_openssl(isa, nbytes):
    key = bytes(range(16))
    ref = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor().update(bytes(nbytes))
    assert PRG(key).bytes(nbytes) == ref


def test_stream_continues_across_draws(isa):
    key = b"k" * 16
    g = PRG(key)
    parts = [g.bytes(16), g.bytes(32), g.bytes(48)]
    assert b"".join(parts) == PRG(key).bytes(96)


def test_derive_separates_labels():
    seed = bytes(16)
    a = PRG.derive(seed, "job", 1).bytes(32)
    assert a == PRG.derive(seed, "job", 1).bytes(32)
    assert a != PRG.derive(seed, "job", 2).bytes(32)
    assert a != PRG.derive(seed, "job1").bytes(32)


def test_field_elements_reduced():
    x = PRG().field(100_000)
    assert x.dtype == np.uint64 and int(x.max()) < (1 << 61) - 1
