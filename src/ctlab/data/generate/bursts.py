"""Bursts: what real tools do in one second.

A console page loads with several calls at once, ``aws s3 cp --recursive`` starts ten transfers at
once, a boto3 script pages through a listing as fast as the API answers, ``terraform plan`` refreshes
every resource of a stack in a second or two, an administrator's credential report walks every
user. Real trails hold such bursts all day (tens of calls a second from one principal), so a burst
alone says nothing about an intruder, whose enumeration script bursts too (see ``story.py``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from ctlab.data.generate.cast import (
    ACCOUNT,
    ADMINS,
    DEV_KEYS,
    ENGINEERS,
    GLOBAL,
    HOME,
    INSTANCES,
    LAKE_KEYS,
    NEW_HIRE,
    UA_BOTO_SCRIPT,
    UA_BROWSER,
    UA_TERRAFORM,
)
from ctlab.data.generate.world import _World


class _Burst:
    """Times of the calls of one burst: about ``rate`` calls a second from ``t``."""

    def __init__(self, t: datetime, rng: random.Random, rate: float):
        self.t, self.rng, self.rate, self.ms = t, rng, rate, 0.0

    def __call__(self) -> datetime:
        self.ms += self.rng.expovariate(self.rate) * 1000
        return (self.t + timedelta(milliseconds=self.ms)).replace(microsecond=0)


def _script_ua(name: str) -> str:
    i = (ENGINEERS + ADMINS).index(name) if name in ENGINEERS + ADMINS else 0
    return UA_BOTO_SCRIPT[i % len(UA_BOTO_SCRIPT)]


# The console's pages, as the calls each makes when it opens.
CONSOLE_PAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ec2.amazonaws.com", ("DescribeInstances", "DescribeInstanceStatus", "DescribeTags", "DescribeVolumes",
                           "DescribeAddresses", "DescribeKeyPairs", "DescribeAvailabilityZones",
                           "DescribeAccountAttributes", "DescribeSecurityGroups", "DescribeImages")),
    ("monitoring.amazonaws.com", ("DescribeAlarms", "GetMetricData", "GetMetricData", "GetMetricData",
                                  "ListDashboards", "DescribeAlarmHistory")),
    ("lambda.amazonaws.com", ("ListFunctions20150331", "GetAccountSettings20160819", "ListEventSourceMappings20150331",
                              "GetFunction20150331v2", "GetPolicy20150331v2", "ListTags20170331")),
    ("logs.amazonaws.com", ("DescribeLogGroups", "DescribeLogStreams", "DescribeMetricFilters",
                            "DescribeSubscriptionFilters", "GetLogEvents", "GetLogEvents")),
    ("rds.amazonaws.com", ("DescribeDBInstances", "DescribeDBClusters", "DescribeDBSnapshots", "DescribeEvents",
                           "DescribeDBParameterGroups", "ListTagsForResource")),
    ("dynamodb.amazonaws.com", ("ListTables", "DescribeTable", "DescribeTable", "DescribeContinuousBackups",
                                "DescribeTimeToLive", "ListTagsOfResource")),
)


def _console_page(w: _World, t: datetime, ident: dict[str, Any], ip: str) -> None:
    rng = w.rng
    source, names = rng.choice(CONSOLE_PAGES)
    at = _Burst(t, rng, rng.uniform(8, 25))
    for name in names[: rng.randrange(4, len(names) + 1)]:
        w.api(at(), ident, ip, UA_BROWSER, source, name, HOME, {"maxResults": 50},
              error=w.failure(source, name, ident))


def _recursive_copy(w: _World, t: datetime, ident: dict[str, Any], ip: str, ua: str) -> None:
    rng = w.rng
    b = rng.choice((w.buckets["dev"], w.buckets["lake"]))
    at = _Burst(t, rng, rng.uniform(6, 20))
    w.s3(at(), ident, ip, ua.format(cmd="s3.cp"), "ListObjects", b, size=rng.randrange(2000, 9000),
         params={"list-type": "2", "prefix": "curated/" if b == w.buckets["lake"] else "scratch/",
                 "encoding-type": "url"})
    day = min(28, max(23, t.day))
    for _ in range(rng.randrange(4, 16)):
        k = (rng.choice(DEV_KEYS) if b == w.buckets["dev"]
             else rng.choice(LAKE_KEYS).format(d=rng.randrange(23, day + 1), p=rng.randrange(4)))
        w.s3(at(), ident, ip, ua.format(cmd="s3.cp"), "GetObject", b, k, size=rng.randrange(200_000, 30_000_000))


def _paging_script(w: _World, t: datetime, name: str, ident: dict[str, Any], ip: str) -> None:
    rng = w.rng
    ua = _script_ua(name)
    at = _Burst(t, rng, rng.uniform(5, 30))
    kind = rng.randrange(3)
    if kind == 0:  # search the logs of a function, page after page
        grp = rng.choice(("/aws/lambda/orders-api", "/aws/lambda/invoice-renderer", "/ecs/datalake-etl"))
        for _ in range(rng.randrange(4, 16)):
            w.api(at(), ident, ip, ua, "logs.amazonaws.com", "FilterLogEvents", HOME,
                  {"logGroupName": grp, "limit": 10000}, error=w.failure("logs.amazonaws.com", "FilterLogEvents", ident, grp))
    elif kind == 1:  # check the lake's partitions
        b = w.buckets["lake"]
        w.s3(at(), ident, ip, ua, "ListObjects", b, size=rng.randrange(4000, 9000),
             params={"list-type": "2", "prefix": "curated/", "encoding-type": "url"})
        for _ in range(rng.randrange(5, 30)):
            k = rng.choice(LAKE_KEYS).format(d=rng.randrange(23, 28), p=rng.randrange(4))
            w.s3(at(), ident, ip, ua, "HeadObject", b, k, size=0)
    else:  # an inventory of the compute
        for source, op in (("ec2.amazonaws.com", "DescribeInstances"), ("ec2.amazonaws.com", "DescribeVolumes"),
                           ("ec2.amazonaws.com", "DescribeSnapshots"), ("ec2.amazonaws.com", "DescribeImages"),
                           ("ec2.amazonaws.com", "DescribeAddresses"), ("autoscaling.amazonaws.com",
                                                                        "DescribeAutoScalingGroups"),
                           ("eks.amazonaws.com", "ListClusters"), ("eks.amazonaws.com", "DescribeCluster"),
                           ("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers"),
                           ("elasticloadbalancing.amazonaws.com", "DescribeTargetGroups")):
            w.api(at(), ident, ip, ua, source, op, HOME, {"maxResults": 1000})


def burst(w: _World, t: datetime, name: str, ident: dict[str, Any], ip: str, console: bool) -> None:
    """One burst of ``name``'s work at ``t``: a console page, or a recursive copy or a script."""
    if console:
        _console_page(w, t, ident, ip)
    elif w.rng.random() < 0.5:
        _recursive_copy(w, t, ident, ip, w.users[name].ua)
    else:
        _paging_script(w, t, name, ident, ip)


# What `terraform plan` reads for the network and data stacks (service, call, request).
TERRAFORM_READS: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("sts.amazonaws.com", "GetCallerIdentity", None),
    ("ec2.amazonaws.com", "DescribeVpcs", {"vpcSet": {"items": [{"vpcId": "vpc-0c1f9a7e2b4d6a830"}]}}),
    ("ec2.amazonaws.com", "DescribeVpcAttribute", {"vpcId": "vpc-0c1f9a7e2b4d6a830", "attribute": "enableDnsSupport"}),
    ("ec2.amazonaws.com", "DescribeVpcAttribute", {"vpcId": "vpc-0c1f9a7e2b4d6a830", "attribute": "enableDnsHostnames"}),
    ("ec2.amazonaws.com", "DescribeSubnets", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeRouteTables", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeInternetGateways", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeNatGateways", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeSecurityGroupRules", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeNetworkAcls", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeVpcEndpoints", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribePrefixLists", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeLaunchTemplates", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeLaunchTemplateVersions", {"launchTemplateId": "lt-05e2b7c9a1d3f4e68"}),
    ("iam.amazonaws.com", "GetRole", {"roleName": "orders-api-role"}),
    ("iam.amazonaws.com", "ListRolePolicies", {"roleName": "orders-api-role"}),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", {"roleName": "orders-api-role"}),
    ("iam.amazonaws.com", "GetRolePolicy", {"roleName": "orders-api-role", "policyName": "xray-write"}),
    ("iam.amazonaws.com", "GetPolicy", {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/orders-api-sqs-publish"}),
    ("iam.amazonaws.com", "GetPolicyVersion", {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/orders-api-sqs-publish",
                                                "versionId": "v3"}),
    ("iam.amazonaws.com", "GetRole", {"roleName": "DataPipelineRole"}),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", {"roleName": "DataPipelineRole"}),
    ("iam.amazonaws.com", "ListInstanceProfilesForRole", {"roleName": "eks-node-role"}),
    ("rds.amazonaws.com", "DescribeDBInstances", {"dBInstanceIdentifier": "orders-db-prod"}),
    ("rds.amazonaws.com", "DescribeDBSubnetGroups", {"dBSubnetGroupName": "orders-db"}),
    ("rds.amazonaws.com", "ListTagsForResource", {"resourceName": f"arn:aws:rds:{HOME}:{ACCOUNT}:db:orders-db-prod"}),
    ("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", {"names": ["orders-api-prod"]}),
    ("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancerAttributes", None),
    ("elasticloadbalancing.amazonaws.com", "DescribeTargetGroups", None),
    ("elasticloadbalancing.amazonaws.com", "DescribeListeners", None),
    ("elasticloadbalancing.amazonaws.com", "DescribeTags", None),
    ("route53.amazonaws.com", "GetHostedZone", {"id": "Z03718592YQ1KX4W2A7OD"}),
    ("route53.amazonaws.com", "ListResourceRecordSets", {"hostedZoneId": "Z03718592YQ1KX4W2A7OD"}),
    ("dynamodb.amazonaws.com", "DescribeTable", {"tableName": "orders-idempotency"}),
    ("dynamodb.amazonaws.com", "DescribeContinuousBackups", {"tableName": "orders-idempotency"}),
    ("dynamodb.amazonaws.com", "DescribeTimeToLive", {"tableName": "orders-idempotency"}),
    ("kms.amazonaws.com", "DescribeKey", {"keyId": "alias/orders-api"}),
    ("kms.amazonaws.com", "GetKeyPolicy", {"keyId": "6f2a9c41-0d7e-4b1a-9e53-2c8d1f0b7a64", "policyName": "default"}),
    ("kms.amazonaws.com", "GetKeyRotationStatus", {"keyId": "6f2a9c41-0d7e-4b1a-9e53-2c8d1f0b7a64"}),
    ("logs.amazonaws.com", "DescribeLogGroups", {"logGroupNamePrefix": "/aws/lambda/orders-api"}),
    ("logs.amazonaws.com", "ListTagsForResource", None),
    ("lambda.amazonaws.com", "GetFunction20150331v2", {"functionName": "orders-api"}),
    ("lambda.amazonaws.com", "GetFunctionCodeSigningConfig", {"functionName": "orders-api"}),
    ("lambda.amazonaws.com", "ListVersionsByFunction20150331", {"functionName": "orders-api"}),
    ("sqs.amazonaws.com", "GetQueueAttributes", {"queueUrl": f"https://sqs.{HOME}.amazonaws.com/{ACCOUNT}/orders"}),
    ("sqs.amazonaws.com", "ListQueueTags", {"queueUrl": f"https://sqs.{HOME}.amazonaws.com/{ACCOUNT}/orders"}),
    ("sns.amazonaws.com", "GetTopicAttributes", {"topicArn": f"arn:aws:sns:{HOME}:{ACCOUNT}:orders-events"}),
    ("sns.amazonaws.com", "ListTagsForResource", {"resourceArn": f"arn:aws:sns:{HOME}:{ACCOUNT}:orders-events"}),
    ("acm.amazonaws.com", "DescribeCertificate", None),
    ("acm.amazonaws.com", "ListTagsForCertificate", None),
)
TERRAFORM_BUCKET_READS = ("GetBucketAcl", "GetBucketVersioning", "GetBucketEncryption", "GetBucketPolicy",
                          "GetBucketTagging", "GetBucketLogging", "GetBucketCors", "GetBucketWebsite",
                          "GetBucketLifecycle", "GetBucketReplication", "GetBucketRequestPayment",
                          "GetBucketObjectLockConfiguration", "GetBucketOwnershipControls", "GetBucketPublicAccessBlock")
TERRAFORM_WRITES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("ec2.amazonaws.com", "CreateTags", {"resourcesSet": {"items": [{"resourceId": INSTANCES[0]}]},
                                         "tagSet": {"items": [{"key": "cost-centre", "value": "data"}]}}),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": "sg-0a7d2c9e4b1f3a586", "ipPermissions": {}}),
    ("ec2.amazonaws.com", "RevokeSecurityGroupIngress", {"groupId": "sg-0a7d2c9e4b1f3a586", "ipPermissions": {}}),
    ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", {"functionName": "orders-api"}),
    ("logs.amazonaws.com", "PutRetentionPolicy", {"logGroupName": "/aws/lambda/orders-api", "retentionInDays": 30}),
    ("dynamodb.amazonaws.com", "UpdateContinuousBackups", {"tableName": "orders-idempotency"}),
    ("sqs.amazonaws.com", "SetQueueAttributes", {"queueUrl": f"https://sqs.{HOME}.amazonaws.com/{ACCOUNT}/orders"}),
)


def terraform(w: _World, hour: datetime) -> None:
    """Engineers run ``terraform plan`` (and now and then ``apply``) on weekdays: each run refreshes
    every resource of the stack in a second or two."""
    if hour.weekday() >= 5 or not 9 <= hour.hour <= 17:
        return
    rng = w.rng
    for _ in range(1 if rng.random() < 0.55 * w.scale else 0):
        name = rng.choice(ENGINEERS + ADMINS)
        u = w.users[name]
        ip = u.ip
        ident = w.iam_user(name)
        at = _Burst(hour + timedelta(seconds=rng.randrange(3500)), rng, rng.uniform(15, 45))
        reads = [r for r in TERRAFORM_READS if rng.random() < 0.85]
        for source, op, req in reads:
            region = GLOBAL if source in ("iam.amazonaws.com", "route53.amazonaws.com") else HOME
            if source == "iam.amazonaws.com":
                w.iam_read(at(), ident, ip, UA_TERRAFORM, op, req)
            else:
                w.api(at(), ident, ip, UA_TERRAFORM, source, op, region, req, error=w.failure(source, op, ident))
        for b in (w.buckets["assets"], w.buckets["lake"]):
            for op in TERRAFORM_BUCKET_READS:
                w.s3(at(), ident, ip, UA_TERRAFORM, op, b, data=False, params={op[9:].lower(): ""})
        if rng.random() < 0.3:
            at = _Burst(at() + timedelta(seconds=rng.randrange(60, 400)), rng, rng.uniform(3, 8))
            for source, op, req in rng.sample(TERRAFORM_WRITES, k=rng.randrange(1, 4)):
                w.api(at(), ident, ip, UA_TERRAFORM, source, op, HOME, req, read_only=False)


def credential_report(w: _World, hour: datetime) -> None:
    """Monday and Thursday at 09:xx an administrator's script reviews every user's keys and MFA: the
    same calls, at the same pace, as an intruder's IAM enumeration."""
    if hour.weekday() not in (0, 3) or hour.hour != 9:
        return
    rng = w.rng
    admin = ADMINS[2] if hour.weekday() == 0 else ADMINS[0]
    u = w.users[admin]
    ident = w.iam_user(admin)
    ua = _script_ua(admin)
    at = _Burst(hour + timedelta(minutes=rng.randrange(5, 40)), rng, rng.uniform(10, 30))
    w.iam_write(at(), ident, u.ip, ua, "GenerateCredentialReport", None, {"state": "STARTED"})
    w.iam_read(at(), ident, u.ip, ua, "ListUsers", {"maxItems": 1000})
    for name in sorted(w.users):
        if name == NEW_HIRE and hour.weekday() == 0:
            continue  # not created yet
        w.iam_read(at(), ident, u.ip, ua, "ListAccessKeys", {"userName": name})
        w.iam_read(at(), ident, u.ip, ua, "GetAccessKeyLastUsed", {"accessKeyId": w.users[name].key})
        w.iam_read(at(), ident, u.ip, ua, "ListMFADevices", {"userName": name})
        if rng.random() < 0.5:
            w.iam_read(at(), ident, u.ip, ua, "ListAttachedUserPolicies", {"userName": name})
            w.iam_read(at(), ident, u.ip, ua, "ListGroupsForUser", {"userName": name})
    w.iam_read(at(), ident, u.ip, ua, "GetCredentialReport")
