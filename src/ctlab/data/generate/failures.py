"""Everyday calls fail now and then, for reasons that have nothing to do with an attack."""

from __future__ import annotations

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
