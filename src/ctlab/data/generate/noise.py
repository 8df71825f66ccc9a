"""What real trails carry besides the work: everyday failures and AWS services at work."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ctlab.data.generate.bursts import _Burst
from ctlab.data.generate.cast import (
    ACCOUNT,
    GLOBAL,
    HOME,
    INSTANCES,
    PARTNER_ACCOUNT,
    PARTNER_IP,
    UA_BOTO_LAMBDA,
    UA_EKS_NODE,
    UA_PARTNER,
    UA_SSM_AGENT,
)
from ctlab.data.generate.world import _poisson, _World

# What AWS Config finds when it records each bucket's settings (most buckets have no lifecycle or policy).
CONFIG_BUCKET_ERRORS = {
    "GetBucketLifecycle": ("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
    "GetBucketPolicy": ("NoSuchBucketPolicy", "The bucket policy does not exist"),
    "GetBucketReplication": ("ReplicationConfigurationNotFoundError", "The replication configuration was not found"),
}


def _services(w: _World, hour: datetime) -> None:
    """AWS services at work: CloudTrail itself, and Config, Auto Scaling and EKS through their
    service-linked roles (assumed by the service, calling from the service's own host)."""
    rng = w.rng
    t = hour + timedelta(minutes=rng.randrange(5, 55))
    w.s3(t, w.service("cloudtrail.amazonaws.com"), "cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com",
         "GetBucketAcl", w.buckets["trail"], data=False, params={"acl": ""})
    if hour.hour % 6 == 0:
        host = "config.amazonaws.com"
        t = hour + timedelta(minutes=rng.randrange(0, 20))
        cfg = w.assumed(w.service_session(host, t))
        w.api(t, cfg, host, host, "ec2.amazonaws.com", "DescribeInstances", HOME, {"instancesSet": {}, "filterSet": {}})
        w.api(t + timedelta(seconds=3), cfg, host, host, "ec2.amazonaws.com", "DescribeSecurityGroups", HOME,
              {"filterSet": {}})
        if hour.hour == 6:
            for i, b in enumerate(sorted(w.buckets.values())):
                for j, name in enumerate(("GetBucketLifecycle", "GetBucketPolicy", "GetBucketReplication")):
                    has = (name == "GetBucketLifecycle" and b in (w.buckets["trail"], w.buckets["backup"])) or (
                        name == "GetBucketPolicy" and b in (w.buckets["trail"], w.buckets["finance"]))
                    w.s3(t + timedelta(seconds=10 + 3 * i + j), cfg, host, host, name, b, data=False,
                         params={name[9:].lower(): ""}, error=None if has else CONFIG_BUCKET_ERRORS[name])
    if hour.hour % 3 == 0:
        host = "autoscaling.amazonaws.com"
        t = hour + timedelta(minutes=rng.randrange(20, 40))
        asg = w.assumed(w.service_session(host, t))
        w.api(t, asg, host, host, "ec2.amazonaws.com", "DescribeInstanceStatus", HOME,
              {"instancesSet": {"items": [{"instanceId": i} for i in INSTANCES[:2]]}, "filterSet": {},
               "includeAllInstances": False})
    if hour.hour % 4 == 1:
        host = "eks.amazonaws.com"
        t = hour + timedelta(minutes=rng.randrange(40, 58))
        eks = w.assumed(w.service_session(host, t))
        w.api(t, eks, host, host, "ec2.amazonaws.com", "DescribeNetworkInterfaces", HOME,
              {"networkInterfaceIdSet": {}, "filterSet": {"items": [{"name": "tag:cluster.k8s.amazonaws.com/name",
                                                                    "valueSet": {"items": [{"value": "datalake"}]}}]}})
        w.api(t + timedelta(seconds=1), eks, host, host, "ec2.amazonaws.com", "DescribeSubnets", HOME,
              {"subnetSet": {}, "filterSet": {}})
    if hour.hour == 7:
        # the security vendor's account assumes its audit role every morning and looks around
        t = hour + timedelta(minutes=rng.randrange(0, 30))
        partner = {"type": "AWSAccount", "principalId": "AROAZT3K7QWXV2EXAMPLE:audit-scanner",
                   "accountId": PARTNER_ACCOUNT}
        s = w.assume_role(t, partner, PARTNER_IP, UA_PARTNER, "SecurityAuditRole", "audit-scanner")
        a = w.assumed(s)
        at = _Burst(t + timedelta(seconds=rng.randrange(2, 6)), rng, rng.uniform(10, 30))
        for source, name, req in VENDOR_SCAN:
            if source == "s3.amazonaws.com":
                w.s3(at(), a, PARTNER_IP, UA_PARTNER, name, None, data=False, region=GLOBAL, size=1900)
            elif source == "iam.amazonaws.com":
                if name == "GenerateCredentialReport":
                    w.iam_write(at(), a, PARTNER_IP, UA_PARTNER, name, None, {"state": "COMPLETE"})
                else:
                    w.iam_read(at(), a, PARTNER_IP, UA_PARTNER, name, req)
            else:
                w.api(at(), a, PARTNER_IP, UA_PARTNER, source, name, HOME, req)
        for b in sorted(w.buckets.values()):
            for name in ("GetBucketAcl", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock", "GetBucketEncryption",
                         "GetBucketLogging", "GetBucketVersioning"):
                w.s3(at(), a, PARTNER_IP, UA_PARTNER, name, b, data=False, params={name[9:].lower(): ""})


# The security vendor's daily look around (a CSPM scanner: tens of calls a second).
VENDOR_SCAN: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("iam.amazonaws.com", "GetAccountPasswordPolicy", None),
    ("iam.amazonaws.com", "GetAccountSummary", None),
    ("iam.amazonaws.com", "GenerateCredentialReport", None),
    ("iam.amazonaws.com", "GetCredentialReport", None),
    ("iam.amazonaws.com", "GetAccountAuthorizationDetails", {"filter": ["User", "Role", "Group", "LocalManagedPolicy"]}),
    ("iam.amazonaws.com", "ListUsers", {"maxItems": 1000}),
    ("iam.amazonaws.com", "ListRoles", {"maxItems": 1000}),
    ("iam.amazonaws.com", "ListGroups", {"maxItems": 1000}),
    ("iam.amazonaws.com", "ListPolicies", {"scope": "Local", "onlyAttached": True}),
    ("iam.amazonaws.com", "ListVirtualMFADevices", {"assignmentStatus": "Any"}),
    ("iam.amazonaws.com", "ListSAMLProviders", None),
    ("iam.amazonaws.com", "ListOpenIDConnectProviders", None),
    ("iam.amazonaws.com", "ListServerCertificates", None),
    ("s3.amazonaws.com", "ListBuckets", None),
    ("cloudtrail.amazonaws.com", "DescribeTrails", {"includeShadowTrails": True}),
    ("cloudtrail.amazonaws.com", "GetTrailStatus", {"name": "org-trail"}),
    ("cloudtrail.amazonaws.com", "GetEventSelectors", {"trailName": "org-trail"}),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeVpcs", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeFlowLogs", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeInstances", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeVolumes", {"filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeSnapshots", {"ownersSet": {"items": [{"owner": "self"}]}}),
    ("ec2.amazonaws.com", "GetEbsEncryptionByDefault", None),
    ("guardduty.amazonaws.com", "ListDetectors", None),
    ("guardduty.amazonaws.com", "GetDetector", {"detectorId": "b4c2a7e91f3d5b6a8c0e2f4a6b8d0c1e"}),
    ("securityhub.amazonaws.com", "DescribeHub", None),
    ("securityhub.amazonaws.com", "GetEnabledStandards", None),
    ("config.amazonaws.com", "DescribeConfigurationRecorders", None),
    ("config.amazonaws.com", "DescribeConfigurationRecorderStatus", None),
    ("config.amazonaws.com", "DescribeDeliveryChannels", None),
    ("kms.amazonaws.com", "ListKeys", None),
    ("kms.amazonaws.com", "GetKeyRotationStatus", {"keyId": "6f2a9c41-0d7e-4b1a-9e53-2c8d1f0b7a64"}),
    ("rds.amazonaws.com", "DescribeDBInstances", None),
    ("lambda.amazonaws.com", "ListFunctions20150331", None),
    ("access-analyzer.amazonaws.com", "ListAnalyzers", None),
    ("organizations.amazonaws.com", "DescribeOrganization", None),
    ("sns.amazonaws.com", "ListTopics", None),
    ("sqs.amazonaws.com", "ListQueues", None),
    ("ecr.amazonaws.com", "DescribeRepositories", None),
    ("eks.amazonaws.com", "ListClusters", None),
    ("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", None),
    ("acm.amazonaws.com", "ListCertificates", None),
    ("route53.amazonaws.com", "ListHostedZones", None),
    ("logs.amazonaws.com", "DescribeMetricFilters", None),
    ("monitoring.amazonaws.com", "DescribeAlarms", None),
)


NODES = INSTANCES[:3]  # the EKS cluster's worker nodes
KMS_KEYS = ("6f2a9c41-0d7e-4b1a-9e53-2c8d1f0b7a64", "0b3e8d27-5c1a-4f96-8e2d-7a4c9b1f6e53")
# How often (per hour) each node's agents call, and what.
NODE_CALLS: tuple[tuple[float, str, str, bool], ...] = (
    (3.0, "ssm.amazonaws.com", "UpdateInstanceInformation", False),
    (0.5, "ssm.amazonaws.com", "PutInventory", False),
    (0.3, "ec2messages.amazonaws.com", "AcknowledgeMessage", False),
    (0.3, "ec2messages.amazonaws.com", "SendReply", False),
    (0.25, "ssm.amazonaws.com", "ListInstanceAssociations", True),
    (0.25, "ssm.amazonaws.com", "GetDeployablePatchSnapshotForInstance", True),
    (0.2, "ecr.amazonaws.com", "GetAuthorizationToken", True),
    (0.3, "ec2messages.amazonaws.com", "GetMessages", True),
    (0.3, "ec2.amazonaws.com", "DescribeNetworkInterfaces", True),
    (0.15, "ec2.amazonaws.com", "AssignPrivateIpAddresses", False),
    (0.1, "ec2.amazonaws.com", "UnassignPrivateIpAddresses", False),
    (0.6, "logs.amazonaws.com", "CreateLogStream", False),
    (0.1, "autoscaling.amazonaws.com", "DescribeAutoScalingGroups", True),
    (0.08, "elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", True),
    (0.05, "elasticloadbalancing.amazonaws.com", "RegisterTargets", False),
    (0.05, "elasticloadbalancing.amazonaws.com", "DeregisterTargets", False),
    (0.1, "route53.amazonaws.com", "ListResourceRecordSets", True),
    (0.03, "route53.amazonaws.com", "ChangeResourceRecordSets", False),
    (0.15, "kms.amazonaws.com", "GenerateDataKey", True),
    (0.2, "sqs.amazonaws.com", "GetQueueAttributes", True),
    (0.1, "dynamodb.amazonaws.com", "DescribeTable", True),
)
NODE_UA = {"ssm.amazonaws.com": UA_SSM_AGENT, "ec2messages.amazonaws.com": UA_SSM_AGENT}


def _platform(w: _World, hour: datetime) -> None:
    """The EKS cluster's nodes at work through their instance role: the SSM agent, the VPC CNI, the
    load balancer controller, external-dns, log shipping; and the automation that now and then gets
    throttled (a burst of calls in one second, many of them refused)."""
    rng = w.rng
    for node in NODES:
        s = w.node_session(node, hour + timedelta(seconds=rng.randrange(30)))
        ident = w.assumed(s)
        ip = f"198.51.100.{100 + NODES.index(node)}"
        for rate, source, name, ro in NODE_CALLS:
            for _ in range(_poisson(rng, rate * w.scale)):
                t = hour + timedelta(seconds=rng.randrange(60, 3600))
                region = GLOBAL if source == "route53.amazonaws.com" else HOME
                req: dict[str, Any] = {"instanceId": node} if source.startswith(("ssm", "ec2messages")) else {}
                if source == "kms.amazonaws.com":
                    req = {"keyId": KMS_KEYS[1], "keySpec": "AES_256"}
                w.api(t, ident, ip, NODE_UA.get(source, UA_EKS_NODE), source, name, region, req, read_only=ro,
                      error=w.failure(source, name, ident))
    # throttling: a deployment's health checks, or the cluster autoscaler, call in a tight loop
    lvl = 1.0 if hour.weekday() < 5 and 8 <= hour.hour <= 18 else 0.2
    if rng.random() < 0.2 * lvl:
        node = rng.choice(NODES)
        ident = w.assumed(w.node_session(node, hour))
        source, name, code, msg = rng.choice((
            ("autoscaling.amazonaws.com", "DescribeAutoScalingGroups", "Throttling", "Rate exceeded"),
            ("ec2.amazonaws.com", "DescribeInstances", "Client.RequestLimitExceeded", "Request limit exceeded."),
            ("elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", "Throttling", "Rate exceeded"),
            ("ssm.amazonaws.com", "GetParameter", "ThrottlingException", "Rate exceeded"),
        ))
        at = _Burst(hour + timedelta(seconds=rng.randrange(3500)), rng, rng.uniform(20, 60))
        refused = rng.uniform(0.25, 0.6)
        for _ in range(rng.randrange(15, 60)):
            req = {"name": "/orders-api/prod/feature_flags"} if source == "ssm.amazonaws.com" else {}
            w.api(at(), ident, f"198.51.100.{100 + NODES.index(node)}", UA_EKS_NODE, source, name, HOME, req,
                  error=(code, msg) if rng.random() < refused else None)


def _service_events(w: _World, hour: datetime) -> None:
    """Events AWS services record on their own (eventType AwsServiceEvent), with no identity type:
    KMS rotating its keys, Secrets Manager rotating the database password, and the rotation Lambda's
    calls around it."""
    day = (hour - w.start).days
    rng = w.rng
    if hour.hour == 4 and day in (1, 4):
        key = KMS_KEYS[day == 4]
        w.service_event(hour + timedelta(minutes=rng.randrange(60)), "kms.amazonaws.com", "RotateKey", HOME,
                        {"keyId": key}, [{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                                          "ARN": f"arn:aws:kms:{HOME}:{ACCOUNT}:key/{key}"}])
    if hour.hour == 3 and day in (2, 6):
        t = hour + timedelta(minutes=rng.randrange(5, 15))
        secret = f"arn:aws:secretsmanager:{HOME}:{ACCOUNT}:secret:prod/orders-api/db-Xk3p9Q"
        w.service_event(t, "secretsmanager.amazonaws.com", "RotationStarted", HOME, {"secretId": secret}, None)
        s = w.assume_role(t, w.service("lambda.amazonaws.com"), "lambda.amazonaws.com", "lambda.amazonaws.com",
                          "rotation-lambda-role", "orders-db-rotation", region=HOME)
        ident = w.assumed(s)
        for i, (name, ro) in enumerate((("DescribeSecret", True), ("GetRandomPassword", True),
                                        ("GetSecretValue", True), ("PutSecretValue", False),
                                        ("GetSecretValue", True), ("DescribeSecret", True),
                                        ("UpdateSecretVersionStage", False))):
            w.api(t + timedelta(seconds=3 + 2 * i), ident, "198.51.100.241", UA_BOTO_LAMBDA,
                  "secretsmanager.amazonaws.com", name, HOME, {"secretId": secret}, read_only=ro)
        w.service_event(t + timedelta(seconds=30), "secretsmanager.amazonaws.com", "RotationSucceeded", HOME,
                        {"secretId": secret}, None)
