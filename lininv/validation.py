"""Argument checks with lininv's error messages: a stable, public module for code built on lininv.

Every check normalises one argument and raises ``ValueError`` or ``TypeError`` with one message
form: which argument, what was expected, what arrived (for example ``"m must be an int >= 1;
got 0"``). lininv uses them at its public edge; packages built on it (such as this project's
``proofs_numeric``) use them so their messages read the same. The names and signatures here are
kept stable across releases; anything else under ``lininv._validation`` is private.

Functions
---------
as_matrix            a finite real 2-D array of a given shape
as_vector_or_batch   a finite real vector of length n, or a batch of them
as_spectrum          positive, finite singular values, sorted descending (a copy)
check_int            an integer in a range
check_real           a finite real number in a range
check_choice         one of a tuple of strings
check_rng            a numpy Generator from None, an int seed, a SeedSequence or a Generator
check_memory         refuse, before any work, a call whose memory estimate exceeds the limit
check_progress       a ``progress=`` argument: a bool, None or a callable(ProgressEvent)
describe             a short description of a value, for messages
"""

from lininv._progress import check_progress
from lininv._validation import (
    as_matrix,
    as_spectrum,
    as_vector_or_batch,
    check_choice,
    check_int,
    check_memory,
    check_real,
    check_rng,
    describe,
)

__all__ = [
    "as_matrix",
    "as_vector_or_batch",
    "as_spectrum",
    "check_int",
    "check_real",
    "check_choice",
    "check_rng",
    "check_memory",
    "check_progress",
    "describe",
]
