# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The connection option group, shared by every module that talks to S3.
    # An explicit option always wins over its environment variables.
    DOCUMENTATION = r"""
options:
  endpoint_url:
    description:
      - URL of the S3 endpoint, for example V(https://s3.fr-par.scw.cloud) or V(https://minio.example.com:9000).
      - Defaults to the E(AWS_ENDPOINT_URL_S3) or E(AWS_ENDPOINT_URL) environment variable, then to the
        C(endpoint_url) of the AWS config file (as botocore reads it, for the profile in use); without any,
        AWS S3 is used, or with O(provider=scaleway) the endpoint of O(region).
      - A plain C(http://) endpoint, wherever it comes from, is refused before any request is made, unless
        O(allow_plain_http=true), because every request carries the SSE-C key, and over http it would travel in
        clear text.
    type: str
  region:
    description:
      - Region of the bucket, for example V(fr-par) or V(eu-west-3).
      - Defaults to E(AWS_REGION), E(AWS_DEFAULT_REGION) or E(SCW_DEFAULT_REGION) (with O(provider=scaleway),
        E(SCW_DEFAULT_REGION) first), then V(us-east-1).
    type: str
  provider:
    description:
      - The kind of S3 service. V(scaleway) with a O(region) gives the endpoint C(https://s3.REGION.scw.cloud)
        and reads E(SCW_ACCESS_KEY) / E(SCW_SECRET_KEY) first.
      - V(other) is any S3-compatible server (MinIO, Ceph RGW, SeaweedFS, ...) and selects path-style addressing.
      - Defaults to V(other) when an endpoint is set, V(aws) otherwise.
    type: str
    choices: [aws, scaleway, other]
  access_key:
    description:
      - S3 access key ID. Defaults to E(AWS_ACCESS_KEY_ID), then E(SCW_ACCESS_KEY).
      - Without O(access_key) and O(secret_key), O(profile) or the default AWS credential chain is used.
    type: str
  secret_key:
    description: S3 secret key. Defaults to E(AWS_SECRET_ACCESS_KEY), then E(SCW_SECRET_KEY).
    type: str
  session_token:
    description: Session token for temporary credentials. Defaults to E(AWS_SESSION_TOKEN).
    type: str
  profile:
    description: Named profile of the AWS configuration files. Defaults to E(AWS_PROFILE). Ignored when O(access_key) is set.
    type: str
  ca_bundle:
    description:
      - PEM file of the CA certificates to trust for the endpoint's TLS certificate. Defaults to E(AWS_CA_BUNDLE).
      - A file that cannot be read or holds no certificate is refused before any request.
    type: path
  validate_certs:
    description:
      - Verify the endpoint's TLS certificate (on by default). A certificate that does not verify fails the task
        before any data or key is sent.
      - B(Dangerous:) V(false) lets anyone able to intercept the connection read the SSE-C key. For a private CA
        or a self-signed certificate set O(ca_bundle) instead. Every run with V(false) and an https endpoint
        gives a warning.
    type: bool
    default: true
  addressing_style:
    description:
      - How the bucket is addressed. V(auto) means virtual-host style on AWS and Scaleway, path style for
        O(provider=other).
    type: str
    default: auto
    choices: [auto, path, virtual]
  allow_plain_http:
    description:
      - Allow a plain C(http://) O(endpoint_url).
      - B(Dangerous:) the SSE-C key travels in clear text on every request (and the access key's signatures,
        the data and its metadata with it). Anyone on the network path can read it, so a key that was sent over
        http must be considered leaked, and every object encrypted with it rotated with M(ssec.s3.rekey).
      - Only for throwaway test servers on loopback, with throwaway keys. AWS, Scaleway, MinIO and Ceph refuse
        SSE-C over http anyway. Every run that uses an http endpoint gives a warning.
    type: bool
    default: false
  retries:
    description:
      - How many times a request is retried after throttling, a 5xx answer or a connection error, with backoff.
        Other errors are never retried.
    type: int
    default: 5
  connect_timeout:
    description: Seconds to wait for a connection to the endpoint.
    type: float
    default: 10
  read_timeout:
    description: Seconds to wait for data on an open connection.
    type: float
    default: 60
requirements:
  - python >= 3.9
  - boto3 >= 1.34.0
  - botocore >= 1.34.0
  - cryptography >= 41.0.0
"""
