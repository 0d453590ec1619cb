# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The safety policy, rule by rule: every state against every option, as tables."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import _policy as policy
from ansible_collections.ssec.s3.plugins.module_utils._policy import ALWAYS, DIFFERENT, NEVER, Action, State, Why
from ansible_collections.ssec.s3.plugins.module_utils._remote import ENCRYPTION_NONE, SSE_C, RemoteObject

A, P, S, T, O, N, U = State.ABSENT, State.PLAINTEXT, State.OTHER_SSE, State.THIS_KEY, State.OTHER_KEY, State.NO_KEY, \
    State.UNKNOWN
WRITE, COMPARE, KEEP, READ, NOTHING, REFUSE = Action.WRITE, Action.COMPARE, Action.KEEP, Action.READ, Action.NOTHING, \
    Action.REFUSE


def test_the_state_is_a_closed_set_of_distinct_names():
    assert len(set(State.ALL)) == 7
    assert set(State.UNENCRYPTED) | set(State.FOREIGN) < set(State.ALL)
    assert State.PLAINTEXT == "plaintext"  # one name: the public ``encryption`` says "none" only at the boundary


@pytest.mark.parametrize("exists, encryption, key_matches, expected", [
    (False, "absent", None, A),
    (True, ENCRYPTION_NONE, None, P),
    (True, "AES256", None, S),
    (True, "aws:kms", None, S),
    (True, SSE_C, True, T),
    (True, SSE_C, False, O),
    (True, SSE_C, None, N),
])
def test_the_state_of_an_inspected_object(exists, encryption, key_matches, expected):
    seen = RemoteObject("b", "o", exists, encryption, key_matches)
    assert seen.kind == expected
    # The public spellings stay as they were.
    assert seen.state == {A: "absent", P: "plaintext", S: encryption}.get(expected, "sse-c")


def test_an_unread_object_is_unknown():
    assert policy.state_of(None) == U


# Every state x overwrite x force for an upload (ssec.s3.object, sync push, copy's destination).
UPLOAD = {
    # state: {overwrite: (without force, with force)}
    A: {NEVER: (WRITE, WRITE), DIFFERENT: (WRITE, WRITE), ALWAYS: (WRITE, WRITE)},
    P: {NEVER: (KEEP, KEEP), DIFFERENT: (WRITE, WRITE), ALWAYS: (WRITE, WRITE)},
    S: {NEVER: (KEEP, KEEP), DIFFERENT: (WRITE, WRITE), ALWAYS: (WRITE, WRITE)},
    T: {NEVER: (KEEP, KEEP), DIFFERENT: (COMPARE, COMPARE), ALWAYS: (WRITE, WRITE)},
    O: {NEVER: (KEEP, KEEP), DIFFERENT: (REFUSE, WRITE), ALWAYS: (WRITE, WRITE)},
    N: {NEVER: (KEEP, KEEP), DIFFERENT: (REFUSE, WRITE), ALWAYS: (WRITE, WRITE)},
    U: {NEVER: (REFUSE, REFUSE), DIFFERENT: (REFUSE, REFUSE), ALWAYS: (REFUSE, REFUSE)},
}


@pytest.mark.parametrize("state, overwrite, force",
                         list(itertools.product(State.ALL, (NEVER, DIFFERENT, ALWAYS), (False, True))))
def test_upload(state, overwrite, force):
    verdict = policy.upload(state, overwrite, force)
    assert verdict.action == UPLOAD[state][overwrite][force]
    if verdict.action == REFUSE:
        assert verdict.why == state  # the refusal names the state
    if state in State.FOREIGN and verdict.action == WRITE:
        assert verdict.why in (Why.ALWAYS, Why.FORCED)  # only an explicit option replaces another key's object


DELETE = {A: (NOTHING, NOTHING), P: (WRITE, WRITE), S: (WRITE, WRITE), T: (WRITE, WRITE), O: (REFUSE, WRITE),
          N: (REFUSE, WRITE), U: (REFUSE, REFUSE)}


@pytest.mark.parametrize("state, force", list(itertools.product(State.ALL, (False, True))))
def test_delete(state, force):
    verdict = policy.delete(state, force)
    assert verdict.action == DELETE[state][force]
    assert verdict.why == (Why.FORCED if state in State.FOREIGN and force else state)


@pytest.mark.parametrize("state, digest_opens", list(itertools.product(State.ALL, (True, False))))
def test_download(state, digest_opens):
    verdict = policy.download(state, digest_opens)
    if state == T and digest_opens:
        assert verdict == (READ, T)
    elif state == T:
        assert verdict == (REFUSE, Why.DIGEST)
    else:
        assert verdict == (REFUSE, state)


# (state under the old key, state under the new key) -> (action without, with encrypt_plaintext)
ROTATE = {
    (A, None): ((NOTHING, A),) * 2,
    (U, None): ((REFUSE, U),) * 2,
    (P, None): ((KEEP, P), (WRITE, P)),
    (S, None): ((KEEP, S), (WRITE, S)),
    (T, None): ((WRITE, Why.ROTATE),) * 2,
    (O, None): (None, None),  # needs the HEAD under the new key
    (O, T): ((KEEP, Why.ROTATED),) * 2,
    (O, O): ((REFUSE, O),) * 2,
    (O, N): ((REFUSE, O),) * 2,
    (O, A): ((NOTHING, A),) * 2,  # deleted between the two HEADs
    (O, P): ((KEEP, P), (WRITE, P)),  # replaced between the two HEADs
    (O, S): ((KEEP, S), (WRITE, S)),
    (O, U): ((REFUSE, U),) * 2,
}


@pytest.mark.parametrize("states, encrypt_plaintext", list(itertools.product(ROTATE, (False, True))))
def test_rotate(states, encrypt_plaintext):
    assert policy.rotate(states[0], states[1], encrypt_plaintext) == ROTATE[states][encrypt_plaintext]


def test_a_rotation_is_verified_under_the_new_key_only():
    assert [state for state in State.ALL if policy.rotated(state)] == [T]


@pytest.mark.parametrize("source, destination, overwrite, force",
                         list(itertools.product(State.ALL, State.ALL, (NEVER, DIFFERENT, ALWAYS), (False, True))))
def test_copy(source, destination, overwrite, force):
    verdict = policy.copy(source, destination, overwrite, force)
    if source == T:
        assert verdict == policy.upload(destination, overwrite, force)
    else:
        assert verdict == (REFUSE, source)  # a source this key does not open is never read, whatever the options


@pytest.mark.parametrize("state, expected", [
    (A, (NOTHING, A)), (U, (REFUSE, U)), (T, (WRITE, T)),
    (O, (KEEP, O)), (N, (KEEP, N)), (P, (KEEP, P)), (S, (KEEP, S)),
])
def test_a_noncurrent_version_is_deleted_only_when_the_old_key_opens_it(state, expected):
    assert tuple(policy.noncurrent_version(state)) == expected
