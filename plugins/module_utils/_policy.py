# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""The safety policy of the collection, stated once: what may be done to an object in each state.

The collection's promise is that no task replaces, reads or deletes an object under another key by
accident, and that it is clear what a plaintext object may become. Every backend reads the state of an
object (remote.inspect, then ``RemoteObject.kind``) and asks one function here what it may do; no
backend compares encryption or key_matches itself.

A decision is a Verdict: an action (WRITE, COMPARE, KEEP, READ, NOTHING or REFUSE) and why (the state,
or one of the reasons below). The backends turn ``why`` into their own words.
"""

from __future__ import annotations

import collections


class State:
    """The state of an object relative to the key a task holds: a closed set.

    The values are those ssec.s3.object_info reports per object with ``prefix`` (``state``); the public
    ``encryption`` field spells PLAINTEXT ``none`` (remote.ENCRYPTION_NONE), and ``previous_state``
    spells the SSE-C states ``sse-c`` (RemoteObject.state): both are public and stay as they are.
    """

    ABSENT = "absent"
    PLAINTEXT = "plaintext"
    OTHER_SSE = "other"  # server-side encryption with server-managed keys (SSE-S3, SSE-KMS)
    THIS_KEY = "this_key"  # SSE-C with the key given
    OTHER_KEY = "other_key"  # SSE-C with another key
    NO_KEY = "sse_c_unknown"  # SSE-C, and no key was given to tell which
    UNKNOWN = "unknown"  # not read (an error): nothing may be done to it
    ALL = (ABSENT, PLAINTEXT, OTHER_SSE, THIS_KEY, OTHER_KEY, NO_KEY, UNKNOWN)
    # Objects whose data no customer key protects: a task may encrypt them with its key.
    UNENCRYPTED = (PLAINTEXT, OTHER_SSE)
    # SSE-C objects this key does not open.
    FOREIGN = (OTHER_KEY, NO_KEY)


class Action:
    WRITE = "write"  # upload, replace, delete or rewrite it
    COMPARE = "compare"  # this key opens it: write only when the content (or metadata) differs
    KEEP = "keep"  # leave it as it is, not an error
    READ = "read"  # read its data with this key
    NOTHING = "nothing"  # there is nothing there to act on
    REFUSE = "refuse"  # not allowed in this state: the task reports why


class Why:
    """Reasons that are not a state."""

    NEVER = "overwrite-never"  # overwrite: never keeps an existing object
    ALWAYS = "overwrite-always"  # overwrite: always replaces even an object under another key
    FORCED = "force"  # force: true acts on an object this key does not open
    DIGEST = "digest"  # the stored content digest does not open with this key
    ROTATE = "rotate"  # under the old key: rewrite under the new one
    ROTATED = "rotated"  # already under the new key


Verdict = collections.namedtuple("Verdict", "action why")

# overwrite option values
NEVER, DIFFERENT, ALWAYS = "never", "different", "always"


def state_of(exists, sse_c=False, server_side=False, key_matches=None):
    """The State of an object from what a HEAD told (``exists`` None: it could not be read).

    ``sse_c``: SSE-C encrypted; ``server_side``: encrypted with a server-managed key; ``key_matches``: for
    SSE-C, whether the key given opens it (None without a key).
    """
    if exists is None:
        return State.UNKNOWN
    if not exists:
        return State.ABSENT
    if not sse_c:
        return State.OTHER_SSE if server_side else State.PLAINTEXT
    if key_matches is None:
        return State.NO_KEY
    return State.THIS_KEY if key_matches else State.OTHER_KEY


def upload(state, overwrite=DIFFERENT, force=False):
    """May an upload under this key go over an object in ``state``? (ssec.s3.object, sync push, copy's destination)

    - nothing there: WRITE;
    - overwrite: never keeps whatever is there (KEEP);
    - under another key, or SSE-C with no key to tell: REFUSE, unless overwrite: always or force: true;
    - overwrite: always: WRITE;
    - plaintext or server-side encrypted: WRITE (it becomes SSE-C under this key);
    - under this key: COMPARE (WRITE only when it differs; force does not change that);
    - unknown: REFUSE.
    """
    if state == State.ABSENT:
        return Verdict(Action.WRITE, state)
    if state == State.UNKNOWN:
        return Verdict(Action.REFUSE, state)
    if overwrite == NEVER:
        return Verdict(Action.KEEP, Why.NEVER)
    if state in State.FOREIGN:
        if overwrite == ALWAYS:
            return Verdict(Action.WRITE, Why.ALWAYS)
        if force:
            return Verdict(Action.WRITE, Why.FORCED)
        return Verdict(Action.REFUSE, state)
    if overwrite == ALWAYS:
        return Verdict(Action.WRITE, Why.ALWAYS)
    if state in State.UNENCRYPTED:
        return Verdict(Action.WRITE, state)
    return Verdict(Action.COMPARE, state)


def delete(state, force=False):
    """May the object be deleted? (ssec.s3.object state: absent, sync push with delete: true)

    Nothing there: NOTHING. Under another key, or SSE-C with no key given: REFUSE unless force: true.
    Unknown: REFUSE. Anything else (this key, plaintext, server-side encrypted): WRITE.
    """
    if state == State.ABSENT:
        return Verdict(Action.NOTHING, state)
    if state == State.UNKNOWN:
        return Verdict(Action.REFUSE, state)
    if state in State.FOREIGN:
        return Verdict(Action.WRITE, Why.FORCED) if force else Verdict(Action.REFUSE, state)
    return Verdict(Action.WRITE, state)


def download(state, digest_opens=True):
    """May the object's data be read with this key and written to a local file? (ssec.s3.download, sync pull)

    Only an SSE-C object under this key, whose stored digest (if any) opens with it: READ. Every other state
    is REFUSED: the collection only fetches data a customer key protects, and never under another key. A
    digest that does not open is REFUSED (Why.DIGEST): the data could not be verified.
    """
    if state != State.THIS_KEY:
        return Verdict(Action.REFUSE, state)
    if not digest_opens:
        return Verdict(Action.REFUSE, Why.DIGEST)
    return Verdict(Action.READ, state)


def rotate(under_old, under_new=None, encrypt_plaintext=False):
    """What ssec.s3.rekey does with an object seen with the old key (``under_old``) and, when the old key
    does not open it, with the new key (``under_new``). None when ``under_new`` is needed and not given.

    - nothing there (under either HEAD): NOTHING;
    - under the old key: WRITE (Why.ROTATE);
    - plaintext or server-side encrypted: WRITE with encrypt_plaintext, otherwise KEEP (why: the state);
    - under the new key: KEEP (Why.ROTATED);
    - under neither key: REFUSE (State.OTHER_KEY): it is left untouched;
    - unknown: REFUSE.
    """
    if under_old in (State.ABSENT, State.UNKNOWN):
        return Verdict(Action.NOTHING if under_old == State.ABSENT else Action.REFUSE, under_old)
    if under_old in State.UNENCRYPTED:
        return Verdict(Action.WRITE if encrypt_plaintext else Action.KEEP, under_old)
    if under_old == State.THIS_KEY:
        return Verdict(Action.WRITE, Why.ROTATE)
    if under_new is None:
        return None
    if under_new == State.THIS_KEY:
        return Verdict(Action.KEEP, Why.ROTATED)
    if under_new in (State.OTHER_KEY, State.NO_KEY):
        return Verdict(Action.REFUSE, State.OTHER_KEY)
    return rotate(under_new, None, encrypt_plaintext)  # replaced between the two HEADs


def noncurrent_version(under_old):
    """May ssec.s3.rekey (noncurrent_versions: delete) delete a noncurrent version of a rotated object, seen with
    the OLD key (a HEAD naming that version)?

    Only a version the old key opens: WRITE (delete it). A version under another key, with no key to tell, not
    encrypted or server-side encrypted is KEPT: the rotation is about the old key only, and such a version may be
    the one copy of something. Nothing there: NOTHING. Unknown: REFUSE.
    """
    if under_old == State.ABSENT:
        return Verdict(Action.NOTHING, under_old)
    if under_old == State.UNKNOWN:
        return Verdict(Action.REFUSE, under_old)
    if under_old == State.THIS_KEY:
        return Verdict(Action.WRITE, under_old)
    return Verdict(Action.KEEP, under_old)


def rotated(state):
    """Is an object seen with the new key after a rewrite really under it?"""
    return state == State.THIS_KEY


def copy(source, destination, overwrite=DIFFERENT, force=False):
    """May an object be copied (server side) from ``source`` to ``destination``? For a future ssec.s3.copy.

    ``source`` is the State of the source object seen with the source key, ``destination`` the State of the
    destination seen with the destination key. The source must be readable with its key (as for a download:
    an SSE-C object under that key, else REFUSE with the source's state as why; a digest is not checked on a
    server-side copy). The destination then follows ``upload`` (overwrite, force) exactly.
    """
    if source != State.THIS_KEY:
        return Verdict(Action.REFUSE, source)
    return upload(destination, overwrite, force)
