"""The email check's fast path never accepts what email-validator refuses.

``check_email`` validates plain addresses by their domain only (once per
distinct domain). These tests compare its verdict with email-validator's own
on many generated addresses, tricky ones included.
"""
from __future__ import annotations

import itertools
import random

import pytest
from email_validator import EmailNotValidError, validate_email

from importer.checks import ValueProblem, _plainly_valid_email, check_email

LOCALS = ["anna", "a.b", "a..b", ".a", "a.", "a+tag", "a_b-c", "A.B.C", "x" * 64, "x" * 65, "a b", "a\tb",
          "é", "ünïcode", "a\"b", "\"quoted\"", "a,b", "a;b", "(c)a", "a(c)", "!#$%&'*+/=?^_`{|}~", "a\\b",
          "", "-", "_", "+", "a\u200bb", "postmaster", "ABUSE"]
DOMAINS = ["example.com", "Example.COM", "mail.example.co.uk", "localhost", "example", "-example.com",
           "example-.com", "ex_ample.com", "example..com", ".example.com", "example.com.", "123.com",
           "example.123", "xn--bcher-kva.example", "XN--bcher-kva.example", "xn--zz.example", "bücher.example",
           "a" * 63 + ".com", "a" * 64 + ".com", ".".join(["a" * 60] * 4) + ".com", "example.test",
           "example.invalid", "example.local", "[127.0.0.1]", "127.0.0.1", "ex ample.com", "example.c",
           "e.xample.museum", "xn--80ak6aa92e.com", "mail.example.com ", "", "e\u00a0xample.com", "-.com",
           "a.b-c.d", "x-.y.com", "xn--.com", "example.onion", "example.arpa"]
ALPHABET = "abcXYZ019._+-@ \"()[]\\,;:<>é\u00a0ü!#%&'*/=?^`{|}~"


def validator_accepts(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def check_accepts(value: str) -> bool:
    try:
        check_email(value)
    except ValueProblem:
        return False
    return True


def generated_addresses() -> list[str]:
    rng = random.Random(1234)
    addresses = [f"{local}@{domain}" for local, domain in itertools.product(LOCALS, DOMAINS)]
    addresses += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 20))) for _ in range(3000)]
    # long addresses around the 254-character limit, built from valid parts
    for length in range(240, 262):
        domain = ".".join(["d" * 60] * 3) + ".com"      # 187 characters
        addresses.append("l" * (length - len(domain) - 1) + "@" + domain)
    return addresses


ADDRESSES = generated_addresses()


def test_the_fast_path_accepts_only_what_email_validator_accepts():
    fast = [a for a in ADDRESSES if _plainly_valid_email(a)]
    wrongly_fast = [a for a in fast if not validator_accepts(a)]
    assert wrongly_fast == []
    assert len(fast) > 100          # the comparison covers the fast path, not just the slow one


def test_check_email_agrees_with_email_validator_on_every_address():
    disagreements = [a for a in ADDRESSES if a.count("@") <= 1 and check_accepts(a) != validator_accepts(a)]
    assert disagreements == []
    # and the sample holds both verdicts many times over
    verdicts = [validator_accepts(a) for a in ADDRESSES]
    assert verdicts.count(True) > 100 and verdicts.count(False) > 1000


@pytest.mark.parametrize("value", ["x" * 65 + "@example.com", "a@" + ".".join(["d" * 63] * 4),
                                   "a@xn--bcher-kva.example", "a@example..com", "a@example"])
def test_addresses_outside_the_plain_form_take_the_full_check(value):
    assert not _plainly_valid_email(value)
    assert check_accepts(value) == validator_accepts(value)


def test_an_invalid_domain_is_reported_in_plain_words_after_a_cached_valid_one():
    assert check_accepts("anna@example.com")
    with pytest.raises(ValueProblem, match="has no dot"):
        check_email("anna@example")
    with pytest.raises(ValueProblem, match="two dots in a row"):
        check_email("anna@example..com")
