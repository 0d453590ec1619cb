# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Backend of ssec.s3.bucket and ssec.s3.bucket_info: a bucket made ready for SSE-C objects.

The module owns one lifecycle rule (RULE_ID) and one policy statement (STATEMENT_ID); every other rule and
statement of the bucket is kept as it is. Servers differ (measured, docs/backends.md):
- SeaweedFS 4.48 deletes a bucket with its objects, so emptiness is checked before DeleteBucket;
- Ceph RGW 16.2 has no bucket encryption API: GET ?encryption answers a bucket listing, PUT 400, and
  DELETE ?encryption deletes the bucket itself. DeleteBucketEncryption is therefore only sent to a server that
  answered GetBucketEncryption with ServerSideEncryptionConfigurationNotFoundError (it knows the API);
- RGW 16.2 does not evaluate the condition key of the SSE-C policy statement, so it refuses SSE-C writes too:
  the statement is verified with probe writes, and rolled back when it does not work as meant.
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, http_error, register_secret, s3_errors

RULE_ID = "ssec-abort-incomplete-uploads"
STATEMENT_ID = "SsecRequireSseC"
SSE_C_CONDITION_KEY = "s3:x-amz-server-side-encryption-customer-algorithm"
FACTS = ("exists", "versioning", "abort_incomplete_uploads_days", "require_sse_c", "sse_c_writes")
PROBE_PREFIX = "ssec-probe-"
# A policy may take a moment to apply (AWS): how often a write without a key is retried before the statement is
# declared not enforced.
_PLAIN_PROBE_ATTEMPTS = 4
_PLAIN_PROBE_PAUSE = 1.0
_NO_ENCRYPTION_CONFIG = "ServerSideEncryptionConfigurationNotFoundError"


class _Call:
    """SDK calls of one bucket; errors become SsecError, except the codes a caller wants to see."""

    def __init__(self, client, bucket):
        self.client = client
        self.bucket = bucket

    def __call__(self, operation, action, permission, accept=(), **params):
        """Call ``operation``; the SsecError of an answer whose status or code is in ``accept`` is returned, not
        raised."""
        try:
            with s3_errors("%s of bucket %s" % (action, self.bucket)):
                answer = getattr(self.client, operation)(Bucket=self.bucket, **params)
        except SsecError as exc:
            if exc.status in accept or exc.code in accept:
                return exc
            error = self._describe(exc, action, permission)
        else:
            return answer
        raise error  # outside the except: the message says it all, no "during handling" link to the answer

    def _describe(self, exc, action, permission):
        status, code = http_error(exc)
        if status == 403:
            return SsecError(
                "Failed to %s of bucket %s: access denied (HTTP 403). Check that the credentials may do it "
                "(permission %s) and that the bucket belongs to their account." % (action, self.bucket, permission),
                code=code, status=status)
        if status == 404 and code == "NoSuchBucket":
            return SsecError("Failed to %s: bucket %s does not exist (it was deleted meanwhile?). Run the task again."
                             % (action, self.bucket), code="NoSuchBucket", status=404)
        return exc


def _is_error(answer):
    return isinstance(answer, SsecError)


# -- lifecycle ---------------------------------------------------------------------------------------------------

def _whole_bucket(rule):
    """Does the rule apply to every object (no prefix, tag or size filter)?"""
    rule_filter = rule.get("Filter")
    if rule_filter is None:
        return not rule.get("Prefix")  # RGW answers the old form, Prefix beside ID
    return set(rule_filter) <= {"Prefix"} and not rule_filter.get("Prefix")


def own_rule(rules):
    """The rule with the module's id, or None."""
    return next((rule for rule in rules or () if rule.get("ID") == RULE_ID), None)


def foreign_rule_problem(rule):
    """Why a rule that carries the module's id is not one the module wrote, or None."""
    if rule is None:
        return None
    extra = sorted(set(rule) - {"ID", "Status", "Filter", "Prefix", "AbortIncompleteMultipartUpload"})
    if extra:
        return "it also has %s" % ", ".join(extra)
    if not _whole_bucket(rule):
        return "it applies to part of the bucket only (Filter %s)" % json.dumps(rule.get("Filter", rule.get("Prefix")))
    if "AbortIncompleteMultipartUpload" not in rule:
        return "it does not abort incomplete uploads"
    return None


def rule_days(rules):
    """Days after which the module's rule aborts incomplete uploads, or None (no rule, disabled, or foreign)."""
    rule = own_rule(rules)
    if rule is None or foreign_rule_problem(rule) or rule.get("Status") != "Enabled":
        return None
    return rule["AbortIncompleteMultipartUpload"].get("DaysAfterInitiation")


def merged_rules(rules, days):
    """The bucket's rules with the module's rule set to ``days`` (0: removed), in place, others untouched."""
    ours = {"ID": RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days}}
    merged, placed = [], False
    for rule in rules or ():
        if rule.get("ID") != RULE_ID:
            merged.append(rule)
        elif days and not placed:
            merged.append(ours)
            placed = True
    if days and not placed:
        merged.append(ours)
    return merged


# -- policy ------------------------------------------------------------------------------------------------------

def own_statement(bucket):
    """The statement that refuses every PutObject (single, multipart, copy) without an SSE-C key."""
    return {
        "Sid": STATEMENT_ID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::%s/*" % bucket,
        "Condition": {"Null": {SSE_C_CONDITION_KEY: "true"}},
    }


def _normal(value):
    # Servers may answer a policy reformatted: one-element lists as scalars, Principal "*" as {"AWS": "*"}.
    if isinstance(value, list):
        value = [_normal(item) for item in value]
        return value[0] if len(value) == 1 else sorted(value, key=json.dumps)
    if isinstance(value, dict):
        value = {name: _normal(item) for name, item in value.items()}
        return "*" if value == {"AWS": "*"} else value
    return value


def parse_policy(text, bucket):
    """The policy document (None when there is none); SsecError when it is not a JSON policy."""
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        document = None  # not JSON: refused just below, like JSON that is no policy
    if not isinstance(document, dict) or not isinstance(document.get("Statement", []), (list, dict)):
        raise SsecError(
            "The policy of bucket %s is not a JSON policy document (an object with a Statement list), so the "
            "SSE-C statement cannot be merged into it; nothing was changed. Correct or delete the policy "
            "(aws s3api get-bucket-policy / delete-bucket-policy), then run the task again." % bucket)
    return document


def _statements(document):
    statements = (document or {}).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def has_own_statement(document, bucket):
    wanted = _normal(own_statement(bucket))
    return any(_normal(statement) == wanted for statement in _statements(document))


def merged_policy(document, bucket, required):
    """The policy with the module's statement added (``required``) or removed; None when no statement is left."""
    statements = [statement for statement in _statements(document)
                  if not (isinstance(statement, dict) and statement.get("Sid") == STATEMENT_ID)]
    if required:
        statements.append(own_statement(bucket))
    if not statements:
        return None
    merged = dict(document or {"Version": "2012-10-17"})
    merged["Statement"] = statements
    return merged


# -- default encryption (AWS BlockedEncryptionTypes) --------------------------------------------------------------

def blocked_state(rules, provider):
    """``allowed``, ``blocked`` or ``unknown`` from the default encryption rules (None: the server has none)."""
    types = None
    for rule in rules or ():
        if "BlockedEncryptionTypes" in rule:
            types = rule["BlockedEncryptionTypes"].get("EncryptionType") or []
    if types is not None:
        return "blocked" if "SSE-C" in types else "allowed"
    # AWS: no BlockedEncryptionTypes means nothing is blocked. Other servers that keep no such field say nothing.
    return "allowed" if provider == "aws" and rules is not None else "unknown"


def rules_with_blocked(rules, value):
    """The default encryption rules with SSE-C writes ``allowed`` or ``blocked``, the rest kept."""
    rules = copy.deepcopy(rules) or [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    for rule in rules:
        rule["BlockedEncryptionTypes"] = {"EncryptionType": ["NONE"] if value == "allowed" else ["SSE-C"]}
    return rules


def botocore_knows_blocked_types():
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    rule = model.shape_for("ServerSideEncryptionRule")
    return "BlockedEncryptionTypes" in rule.members


# -- reading -----------------------------------------------------------------------------------------------------

class BucketState:
    """What the server says about one bucket; ``facts()`` is the public view."""

    def __init__(self, bucket, provider):
        self.bucket = bucket
        self.provider = provider
        self.exists = False
        self.versioning = None
        self.rules = None           # lifecycle rules ([] when none; None: the server has no lifecycle API)
        self.policy_text = None
        self.policy = None
        self.policy_problem = None
        self.encryption_rules = None      # default encryption rules, None when none or unsupported
        self.encryption_api = False       # the server answered GetBucketEncryption as AWS does
        self.probes = None

    def facts(self):
        if not self.exists:
            return dict(dict.fromkeys(FACTS), exists=False)
        return {
            "exists": True,
            "versioning": self.versioning,
            "abort_incomplete_uploads_days": rule_days(self.rules),
            "require_sse_c": None if self.policy_problem else has_own_statement(self.policy, self.bucket),
            "sse_c_writes": blocked_state(self.encryption_rules if self.encryption_api else None, self.provider)
            if self.encryption_api else "unknown",
        }


def read_state(client, bucket, provider) -> BucketState:
    call = _Call(client, bucket)
    state = BucketState(bucket, provider)
    answer = call("head_bucket", "find", "s3:ListBucket", accept=(403, 404))
    if _is_error(answer) and answer.status == 403:
        raise SsecError(
            "Bucket %s exists but these credentials may not use it (HTTP 403): it belongs to another account, or a "
            "policy denies them access. Nothing was changed. Choose another bucket name, or use the credentials of "
            "the bucket's owner." % bucket, code=answer.code or "AccessDenied", status=403)
    if _is_error(answer):
        return state
    state.exists = True
    answer = call("get_bucket_versioning", "read the versioning", "s3:GetBucketVersioning")
    state.versioning = (answer.get("Status") or "disabled").lower()

    answer = call("get_bucket_lifecycle_configuration", "read the lifecycle rules", "s3:GetLifecycleConfiguration",
                  accept=("NoSuchLifecycleConfiguration", 501))
    if not _is_error(answer):
        state.rules = answer.get("Rules") or []
    elif answer.code == "NoSuchLifecycleConfiguration":
        state.rules = []

    answer = call("get_bucket_policy", "read the policy", "s3:GetBucketPolicy", accept=("NoSuchBucketPolicy", 501))
    if not _is_error(answer):
        state.policy_text = answer.get("Policy")
        try:
            state.policy = parse_policy(state.policy_text, bucket)
        except SsecError as exc:
            state.policy_problem = exc.message

    answer = call("get_bucket_encryption", "read the default encryption", "s3:GetEncryptionConfiguration",
                  accept=(400, 404, 405, 501))
    if not _is_error(answer):
        # Ceph RGW 16.2 answers a bucket listing, parsed as a configuration without rules.
        rules = (answer.get("ServerSideEncryptionConfiguration") or {}).get("Rules")
        state.encryption_api = rules is not None
        state.encryption_rules = rules
    elif answer.code == _NO_ENCRYPTION_CONFIG:
        state.encryption_api = True
    return state


# -- probes ------------------------------------------------------------------------------------------------------

def _probe_write(client, bucket, versioning, key):
    """Write (then delete) a small probe object, with a throwaway SSE-C key or none; the refusal, or None."""
    name = "%s%s" % (PROBE_PREFIX, uuid.uuid4().hex)
    params = {"Bucket": bucket, "Key": name, "Body": b"ssec.s3 probe"}
    if key is not None:
        params.update(SSECustomerAlgorithm="AES256", SSECustomerKey=key)  # raw: botocore encodes it
    try:
        with s3_errors("write a probe object to bucket %s" % bucket):
            answer = client.put_object(**params)
    except SsecError as exc:
        if exc.status is None and exc.code is None:
            raise  # no answer from the server (transport, TLS): nothing was refused
        return "HTTP %s %s" % (exc.status, exc.code or "")
    delete = {"Bucket": bucket, "Key": name}
    if answer.get("VersionId") or versioning in ("enabled", "suspended"):
        # Delete the version itself: a plain delete would leave a version or a delete marker behind.
        delete["VersionId"] = answer.get("VersionId") or "null"
    with s3_errors("delete the probe object %s of bucket %s (delete it by hand)" % (name, bucket)):
        client.delete_object(**delete)
    return None


def probe(client, bucket, versioning):
    """What the server does with a write without a key and with a throwaway key: ``allowed`` or ``refused``."""
    key = os.urandom(32)
    register_secret(key)
    plain = _probe_write(client, bucket, versioning, None)
    sse_c = _probe_write(client, bucket, versioning, key)
    return {"plain_write": "refused" if plain else "allowed", "sse_c_write": "refused" if sse_c else "allowed",
            "plain_write_answer": plain, "sse_c_write_answer": sse_c}


def verify_statement(client, bucket, versioning):
    """None when the statement works as meant; otherwise what went wrong (a sentence)."""
    key = os.urandom(32)
    register_secret(key)
    for attempt in range(_PLAIN_PROBE_ATTEMPTS):
        if _probe_write(client, bucket, versioning, None):
            break
        if attempt + 1 < _PLAIN_PROBE_ATTEMPTS:
            time.sleep(_PLAIN_PROBE_PAUSE)
    else:
        return ("the server still accepted a write without an SSE-C key after the statement was added: it does "
                "not enforce bucket policies for these credentials")
    refusal = _probe_write(client, bucket, versioning, key)
    if refusal:
        return "refused a write with an SSE-C key too (%s)" % refusal
    return None


# -- the modules -------------------------------------------------------------------------------------------------

_APPLY_OPTIONS = ("versioning", "abort_incomplete_uploads_days", "require_sse_c", "sse_c_writes")


def check_bucket_options(params):
    problems = []
    given = [name for name in _APPLY_OPTIONS if params.get(name) is not None]
    if params.get("state") == "absent" and given:
        problems.append("%s only appl%s with state: present (state: absent deletes an empty bucket). Remove %s."
                        % (", ".join(given), "ies" if len(given) == 1 else "y", "it" if len(given) == 1 else "them"))
    days = params.get("abort_incomplete_uploads_days")
    if days is not None and days < 0:
        problems.append("abort_incomplete_uploads_days must be 1 or more (0 removes the rule); it is %d." % days)
    if problems:
        raise SsecError(" ".join(problems))


def bucket_info(module) -> dict:
    from ansible_collections.ssec.s3.plugins.module_utils._connection import resolve_settings

    params = module.params
    client = module.client()
    bucket = params["bucket"]
    state = read_state(client, bucket, resolve_settings(params)["provider"])
    facts = state.facts()
    result = dict(facts, changed=False, bucket=bucket)
    notes = []
    if state.policy_problem:
        module.warn(state.policy_problem)
    if params["probe"] and state.exists and module.check_mode:
        notes.append("The probe writes were skipped in check mode.")
    elif params["probe"] and state.exists:
        result["probes"] = probe(client, bucket, state.versioning)
        if facts["sse_c_writes"] == "unknown":
            result["sse_c_writes"] = "allowed" if result["probes"]["sse_c_write"] == "allowed" else "blocked"
    result["msg"] = describe_facts(bucket, result) + "".join(" " + note for note in notes)
    return result


def describe_facts(bucket, facts):
    if not facts["exists"]:
        return "Bucket %s does not exist." % bucket
    days = facts["abort_incomplete_uploads_days"]
    parts = [
        "versioning %s" % facts["versioning"],
        "incomplete uploads aborted after %d days" % days if days else "no rule of its own for incomplete uploads",
        {True: "writes without an SSE-C key refused by its policy", False: "no SSE-C policy statement",
         None: "a policy that is not JSON"}[facts["require_sse_c"]],
        {"allowed": "SSE-C writes allowed", "blocked": "SSE-C writes blocked",
         "unknown": "the server does not say whether SSE-C writes are blocked"}[facts["sse_c_writes"]],
    ]
    return "Bucket %s: %s." % (bucket, ", ".join(parts))


class _Plan:
    """What a present bucket needs, computed from its state before anything is sent."""

    def __init__(self, state, params):
        self.state = state
        self.changes = []
        self.versioning = None
        self.rules = None
        self.encryption = None
        self.policy = None
        self.policy_changed = False
        bucket = state.bucket
        if not state.exists:
            self.changes.append("created")
        versioning = params.get("versioning")
        current_versioning = state.versioning or "disabled"
        # A bucket that never kept versions already keeps none: 'suspended' has nothing to do there.
        if versioning and versioning != current_versioning and not (
                versioning == "suspended" and current_versioning == "disabled"):
            self.versioning = versioning
            self.changes.append("versioning %s" % versioning)
        days = params.get("abort_incomplete_uploads_days")
        if days is not None:
            problem = foreign_rule_problem(own_rule(state.rules))
            if problem:
                raise SsecError(
                    "Bucket %s has a lifecycle rule with the id %s that this module did not write (%s); nothing was "
                    "changed. The module manages the rule of that id: rename or delete that rule, or leave "
                    "abort_incomplete_uploads_days unset." % (bucket, RULE_ID, problem))
            if state.exists and state.rules is None:
                raise SsecError("The server does not support lifecycle rules (GetBucketLifecycleConfiguration is not "
                                "implemented); nothing was changed. Leave abort_incomplete_uploads_days unset.")
            if (rule_days(state.rules) or 0) != days or (days == 0 and own_rule(state.rules) is not None):
                self.rules = merged_rules(state.rules or [], days)
                self.changes.append("incomplete uploads aborted after %d days" % days if days
                                    else "rule %s removed" % RULE_ID)
        self.sse_c_writes = params.get("sse_c_writes")
        self.sse_c_writes_explicit = self.sse_c_writes is not None
        if state.exists:
            current = state.facts()["sse_c_writes"]
            if self.sse_c_writes is None and current == "blocked":
                # The module's purpose: a bucket that blocks SSE-C writes (a new AWS bucket) is made ready for them.
                self.sse_c_writes = "allowed"
            if self.sse_c_writes and self.sse_c_writes != current:
                self.encryption = rules_with_blocked(state.encryption_rules, self.sse_c_writes)
                self.changes.append("SSE-C writes %s" % self.sse_c_writes)
        elif self.sse_c_writes:
            self.changes.append("SSE-C writes %s" % self.sse_c_writes)
        required = params.get("require_sse_c")
        if required is not None:
            if state.policy_problem:
                raise SsecError(state.policy_problem)
            if has_own_statement(state.policy, bucket) != required or (
                    not required and any(isinstance(s, dict) and s.get("Sid") == STATEMENT_ID
                                         for s in _statements(state.policy))):
                self.policy = merged_policy(state.policy, bucket, required)
                self.policy_changed = True
                self.changes.append("writes without an SSE-C key refused" if required
                                    else "SSE-C policy statement removed")
        self.required = required

    def predicted(self):
        """The facts after the change, for check mode."""
        facts = self.state.facts()
        if not self.state.exists:
            facts.update(exists=True, versioning="disabled", abort_incomplete_uploads_days=None,
                         require_sse_c=False, sse_c_writes="unknown")
        if self.versioning:
            facts["versioning"] = self.versioning
        if self.rules is not None:
            facts["abort_incomplete_uploads_days"] = rule_days(self.rules)
        if self.sse_c_writes and (self.encryption is not None or not self.state.exists):
            facts["sse_c_writes"] = self.sse_c_writes
        if self.policy_changed:
            facts["require_sse_c"] = bool(self.required)
        return facts


def _create(client, bucket, settings):
    params = {}
    region = settings["region"]
    if settings["provider"] in ("aws", "scaleway") and region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    answer = _Call(client, bucket)("create_bucket", "create", "s3:CreateBucket",
                                   accept=("BucketAlreadyExists", "BucketAlreadyOwnedByYou"), **params)
    if _is_error(answer) and answer.code == "BucketAlreadyExists":
        raise SsecError("Bucket name %s is taken by another account (bucket names are global on AWS and Scaleway); "
                        "nothing was changed. Choose another bucket name." % bucket,
                        code="BucketAlreadyExists", status=409)


def _put_encryption(client, bucket, state, plan):
    call = _Call(client, bucket)
    if not botocore_knows_blocked_types():
        raise SsecError("This botocore does not know BlockedEncryptionTypes, needed for sse_c_writes; nothing was "
                        "changed. Upgrade boto3 and botocore on the host the module runs on (1.42 or later).")
    answer = call("put_bucket_encryption", "set the default encryption", "s3:PutEncryptionConfiguration",
                  accept=(400, 405, 501), ServerSideEncryptionConfiguration={"Rules": plan.encryption})
    if _is_error(answer):
        return ("the server refused PutBucketEncryption (HTTP %s %s): it has no default encryption "
                "configuration to block or allow SSE-C writes with (Ceph RGW 16.2 is one such server)"
                % (answer.status, answer.code or ""))
    after = call("get_bucket_encryption", "read the default encryption", "s3:GetEncryptionConfiguration",
                 accept=(400, 404, 405, 501))
    rules = None if _is_error(after) else (after.get("ServerSideEncryptionConfiguration") or {}).get("Rules")
    if blocked_state(rules, None) == plan.sse_c_writes:
        return None
    # Accepted but not kept (SeaweedFS 4.48 drops the field): put the configuration back as it was.
    if state.encryption_rules:
        call("put_bucket_encryption", "restore the default encryption", "s3:PutEncryptionConfiguration",
             ServerSideEncryptionConfiguration={"Rules": state.encryption_rules})
    else:
        call("delete_bucket_encryption", "restore the default encryption", "s3:PutEncryptionConfiguration")
    return ("the server accepted PutBucketEncryption but does not keep BlockedEncryptionTypes (SeaweedFS 4.48 is "
            "one such server); its default encryption was put back as it was")


def _apply_policy(client, bucket, state, plan):
    call = _Call(client, bucket)
    if plan.policy is None:
        call("delete_bucket_policy", "delete the policy", "s3:DeleteBucketPolicy")
    else:
        call("put_bucket_policy", "set the policy", "s3:PutBucketPolicy", Policy=json.dumps(plan.policy))
    if not plan.required:
        return
    problem = verify_statement(client, bucket, state.versioning)
    if problem is None:
        return
    # Roll back: the bucket's policy as it was.
    if state.policy_text is None:
        call("delete_bucket_policy", "restore the policy", "s3:DeleteBucketPolicy")
    else:
        call("put_bucket_policy", "restore the policy", "s3:PutBucketPolicy", Policy=state.policy_text)
    if problem.startswith("refused") and _probe_write(client, bucket, state.versioning, _throwaway()) is None:
        raise SsecError(
            "The SSE-C policy statement %s does not work on this server: with it, the server %s, although it "
            "accepts SSE-C writes without it. The server does not evaluate the condition key %s (Ceph RGW 16.2 "
            "does not), so the statement would refuse every write. It was removed again and the policy is as it was. "
            "Leave require_sse_c unset on this server." % (STATEMENT_ID, problem, SSE_C_CONDITION_KEY))
    if problem.startswith("refused"):
        raise SsecError(
            "The SSE-C policy statement could not be verified: the server %s, and refuses SSE-C writes even without "
            "the statement. The statement was removed again and the policy is as it was. Allow SSE-C writes first "
            "(sse_c_writes: allowed on AWS) and check that the credentials may write to the bucket." % problem)
    raise SsecError("The SSE-C policy statement does not work on this server: %s. It was removed again and the "
                    "policy is as it was. Leave require_sse_c unset on this server." % problem)


def _throwaway():
    key = os.urandom(32)
    register_secret(key)
    return key


def _delete(module, client, state):
    bucket = state.bucket
    call = _Call(client, bucket)
    answer = call("list_object_versions", "list the objects", "s3:ListBucketVersions", accept=(400, 405, 501),
                  MaxKeys=1)
    if _is_error(answer):
        answer = call("list_objects_v2", "list the objects", "s3:ListBucket", MaxKeys=1)
    entries = answer.get("Versions", []) + answer.get("DeleteMarkers", []) + answer.get("Contents", [])
    uploads = call("list_multipart_uploads", "list the multipart uploads", "s3:ListBucketMultipartUploads",
                   accept=(400, 405, 501), MaxUploads=1)
    in_progress = [] if _is_error(uploads) else uploads.get("Uploads", [])
    if entries or in_progress:
        what = ("objects or object versions (for example %s)" % entries[0].get("Key") if entries
                else "multipart uploads in progress (for example of %s)" % in_progress[0].get("Key"))
        raise SsecError(
            "Bucket %s is not empty: it holds %s. ssec.s3.bucket deletes only empty buckets and never deletes "
            "objects, so nothing was changed. Delete the objects first (ssec.s3.object with state: absent, or the "
            "provider's console), then run the task again." % (bucket, what), code="BucketNotEmpty", status=409)
    if not module.check_mode:
        answer = call("delete_bucket", "delete", "s3:DeleteBucket", accept=("BucketNotEmpty",))
        if _is_error(answer):
            raise SsecError("Bucket %s was not deleted: objects were written into it meanwhile (BucketNotEmpty). "
                            "Delete them first, then run the task again." % bucket, code="BucketNotEmpty", status=409)


def bucket(module) -> dict:
    from ansible_collections.ssec.s3.plugins.module_utils._connection import resolve_settings

    params = module.params
    check_bucket_options(params)
    settings = resolve_settings(params)
    client = module.client()
    name = params["bucket"]
    state = read_state(client, name, settings["provider"])
    before = state.facts()
    result = {"changed": False, "bucket": name}
    if params["state"] == "absent":
        if state.exists:
            _delete(module, client, state)
            result["changed"] = True
        after = dict(dict.fromkeys(FACTS), exists=False)
        result.update(bucket_info=after, msg="Bucket %s %s." % (
            name, ("would be deleted" if module.check_mode else "deleted") if state.exists else "does not exist"))
        if module._diff:
            result["diff"] = {"before": before, "after": after}
        return result

    plan = _Plan(state, params)
    changes = list(plan.changes)
    result["changed"] = bool(changes)
    notes = []
    if changes and not module.check_mode:
        if not state.exists:
            _create(client, name, settings)
            state = read_state(client, name, settings["provider"])
            plan = _Plan(state, params)  # the defaults of the new bucket (AWS: SSE-C writes blocked)
            changes = list(dict.fromkeys(changes + plan.changes))
        call = _Call(client, name)
        if plan.versioning:
            call("put_bucket_versioning", "set the versioning", "s3:PutBucketVersioning",
                 VersioningConfiguration={"Status": plan.versioning.capitalize()})
            state.versioning = plan.versioning
        if plan.rules is not None and plan.rules:
            call("put_bucket_lifecycle_configuration", "set the lifecycle rules", "s3:PutLifecycleConfiguration",
                 LifecycleConfiguration={"Rules": plan.rules})
        elif plan.rules is not None:
            call("delete_bucket_lifecycle", "delete the lifecycle rules", "s3:PutLifecycleConfiguration")
        if plan.encryption is not None:
            problem = _put_encryption(client, name, state, plan)
            if problem and plan.sse_c_writes_explicit:
                raise SsecError("sse_c_writes: %s could not be set on bucket %s: %s. Leave sse_c_writes unset on "
                                "this server." % (plan.sse_c_writes, name, problem))
            if problem:
                notes.append("SSE-C writes could not be allowed explicitly: %s." % problem)
        if plan.policy_changed:
            _apply_policy(client, name, state, plan)
        after = read_state(client, name, settings["provider"]).facts()
    else:
        after = plan.predicted()
    if not changes:
        msg = "Bucket %s is as requested." % name
    else:
        msg = "Bucket %s %s: %s." % (name, "would be changed" if module.check_mode else "changed", ", ".join(changes))
    if after["sse_c_writes"] == "unknown":
        notes.append("The server does not say whether SSE-C writes are blocked (it keeps no BlockedEncryptionTypes).")
    result.update(bucket_info=after, msg=" ".join([msg] + notes))
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result
