"""What real trails carry besides the work: everyday failures and AWS services at work."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ctlab.data.generate.cast import BUCKETS, GLOBAL, HOME, INSTANCES, PARTNER_ACCOUNT, PARTNER_IP, UA_PARTNER

if TYPE_CHECKING:
    from ctlab.data.generate.world import _World

# Everyday calls fail now and then, for reasons that have nothing to do with an attack: what each
# kind of call fails with, and how often.
ERROR_RATE = 0.04
_DENIED = ("AccessDenied", "")
BACKGROUND_ERRORS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("s3.amazonaws.com", "GetObject"): (("NoSuchKey", "The specified key does not exist."), _DENIED),
    ("s3.amazonaws.com", "HeadObject"): (("NoSuchKey", "The specified key does not exist."),),
    ("s3.amazonaws.com", "GetObjectTagging"): (_DENIED,),
    ("s3.amazonaws.com", "GetObjectAcl"): (_DENIED,),
    ("s3.amazonaws.com", "GetObjectRetention"): (("NoSuchObjectLockConfiguration",
                                                  "The specified object does not have a ObjectLock configuration"),),
    ("s3.amazonaws.com", "ListObjects"): (_DENIED, ("SlowDown", "Please reduce your request rate.")),
    ("s3.amazonaws.com", "PutObject"): (("SlowDown", "Please reduce your request rate."),),
    ("ec2.amazonaws.com", "*"): (("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
                                 ("Client.DryRunOperation", "Request would have succeeded, but DryRun flag is set."),
                                 ("Client.RequestLimitExceeded", "Request limit exceeded.")),
    ("logs.amazonaws.com", "*"): (("ThrottlingException", "Rate exceeded"),
                                  ("ResourceNotFoundException", "The specified log group does not exist.")),
    ("monitoring.amazonaws.com", "*"): (("Throttling", "Rate exceeded"),),
    ("lambda.amazonaws.com", "*"): (("ResourceNotFoundException", "Function not found: {target}"),
                                    ("TooManyRequestsException", "Rate exceeded")),
    ("ecr.amazonaws.com", "*"): (("RepositoryNotFoundException", "The repository with name '{target}' does not exist"),),
    ("ssm.amazonaws.com", "GetParameter"): (("ParameterNotFound", "Parameter not found."),
                                            ("ThrottlingException", "Rate exceeded")),
    ("cloudformation.amazonaws.com", "DescribeStacks"): (("ValidationError", "Stack with id {target} does not exist"),),
    ("iam.amazonaws.com", "GetRole"): (("NoSuchEntityException", "The role with name {target} cannot be found."), _DENIED),
    ("iam.amazonaws.com", "GetUser"): (_DENIED,),
    ("iam.amazonaws.com", "ListRoles"): (_DENIED,),
    ("glue.amazonaws.com", "GetTables"): (("EntityNotFoundException", "Database {target} not found."),),
    ("athena.amazonaws.com", "GetQueryResults"): (
        ("InvalidRequestException", "Query has not yet finished. Current state: RUNNING"),),
    ("secretsmanager.amazonaws.com", "GetSecretValue"): (("ThrottlingException", "Rate exceeded"),),
    ("kms.amazonaws.com", "Decrypt"): (("ThrottlingException", "You have exceeded the rate at which you may call KMS."),),
    ("sts.amazonaws.com", "GetCallerIdentity"): (("ExpiredToken", "The security token included in the request is expired"),),
}


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
         "GetBucketAcl", BUCKETS["trail"], data=False, params={"acl": ""})
    if hour.hour % 6 == 0:
        host = "config.amazonaws.com"
        t = hour + timedelta(minutes=rng.randrange(0, 20))
        cfg = w.assumed(w.service_session(host, t))
        w.api(t, cfg, host, host, "ec2.amazonaws.com", "DescribeInstances", HOME, {"instancesSet": {}, "filterSet": {}})
        w.api(t + timedelta(seconds=3), cfg, host, host, "ec2.amazonaws.com", "DescribeSecurityGroups", HOME,
              {"filterSet": {}})
        if hour.hour == 6:
            for i, b in enumerate(sorted(BUCKETS.values())):
                for j, name in enumerate(("GetBucketLifecycle", "GetBucketPolicy", "GetBucketReplication")):
                    has = (name == "GetBucketLifecycle" and b in (BUCKETS["trail"], BUCKETS["backup"])) or (
                        name == "GetBucketPolicy" and b in (BUCKETS["trail"], BUCKETS["finance"]))
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
        for name, source, req in (("GetAccountPasswordPolicy", "iam.amazonaws.com", None),
                                  ("ListUsers", "iam.amazonaws.com", {"maxItems": 1000}),
                                  ("ListRoles", "iam.amazonaws.com", {"maxItems": 1000}),
                                  ("ListBuckets", "s3.amazonaws.com", None),
                                  ("DescribeTrails", "cloudtrail.amazonaws.com", {"includeShadowTrails": True}),
                                  ("DescribeSecurityGroups", "ec2.amazonaws.com", {"filterSet": {}})):
            t += timedelta(seconds=rng.randrange(1, 6))
            if source == "s3.amazonaws.com":
                w.s3(t, a, PARTNER_IP, UA_PARTNER, name, None, data=False, region=GLOBAL, size=1900)
            elif source == "iam.amazonaws.com":
                w.iam_read(t, a, PARTNER_IP, UA_PARTNER, name, req)
            else:
                w.api(t, a, PARTNER_IP, UA_PARTNER, source, name, HOME, req)

