"""The company, its account and its people: names, roles, buckets, addresses and user agents."""

from __future__ import annotations

ACCOUNT = "481239765027"
COMPANY = "halyard"
DEFAULT_START = "2026-02-23"  # a Monday
HOME = "eu-west-1"
DR = "eu-central-1"
GLOBAL = "us-east-1"  # IAM and global STS calls are logged here

_ID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

UA_CLI_MAC = "aws-cli/2.22.35 Python/3.12.6 Darwin/24.3.0 exe/x86_64 prompt/off command/{cmd}"
UA_CLI_LINUX = "aws-cli/2.22.35 Python/3.12.6 Linux/6.8.0-1021-aws exe/x86_64.ubuntu.24 prompt/off command/{cmd}"
UA_CLI_RUNNER = "aws-cli/2.24.10 Python/3.12.9 Linux/6.8.0-1020-azure exe/x86_64.ubuntu.24 prompt/off command/{cmd}"
UA_BOTO_EC2 = ("Boto3/1.36.21 md/Botocore#1.36.21 ua/2.0 os/linux#6.1.127-135.201.amzn2023.x86_64 "
               "md/arch#x86_64 lang/python#3.12.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.36.21")
UA_BOTO_LAMBDA = ("Boto3/1.35.99 md/Botocore#1.35.99 ua/2.0 os/linux#5.10.234-246.922.amzn2.x86_64 "
                  "md/arch#x86_64 lang/python#3.12.8 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 "
                  "cfg/retry-mode#legacy Botocore/1.35.99")
UA_GHA_SDK = ("aws-sdk-nodejs/3.726.1 ua/2.1 os/linux#6.8.0-1020-azure lang/js md/nodejs#20.18.1 "
              "api/sts#3.726.1 m/E,e")
UA_BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/133.0.0.0 Safari/537.36")
UA_BROWSER_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/133.0.0.0 Safari/537.36 Edg/133.0.0.0")
UA_CONSOLE = "AWS Internal"
# Engineers' own Python scripts (boto3 on a laptop or a dev box): the intruder's tooling looks the same.
UA_BOTO_SCRIPT = (
    "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/macos#24.3.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython "
    "cfg/retry-mode#legacy Botocore/1.35.36",
    "Boto3/1.36.2 md/Botocore#1.36.2 ua/2.0 os/linux#6.8.0-1021-aws md/arch#x86_64 lang/python#3.12.3 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.36.2",
)
UA_TERRAFORM = ("APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.84.0 "
                "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.8 ua/2.1 os/macos "
                "lang/go#1.23.3 md/GOOS#darwin md/GOARCH#arm64")
UA_SSM_AGENT = "amazon-ssm-agent/3.3.1142.0"
UA_EKS_NODE = ("aws-sdk-go/1.55.5 (go1.22.8; linux; amd64) amazon-vpc-cni-k8s/v1.19.2")

OFFICE_IPS = ("192.0.2.10", "192.0.2.11")
VPN_IP = "192.0.2.40"

STAGING_ACCOUNT = "590183726644"  # the company's other account in its organisation
PARTNER_ACCOUNT = "730335184510"  # the security vendor's account, which audits this one daily
PARTNER_IP = "203.0.113.200"
# Exits of the commercial VPN service staff use when travelling: shared with everyone else on that service.
VPN_EXITS = tuple(f"203.0.113.{n}" for n in (23, 47, 61, 88, 112, 139, 154, 171))
# GitHub-hosted runners (and anyone else renting a machine from the same cloud) call from this range.
RUNNER_RANGE = range(120, 180)  # 198.51.100.x
IDENTITY_STORE = "d-93670c5b21"

BUCKETS = {
    "assets": f"{COMPANY}-app-assets",
    "artifacts": f"{COMPANY}-ci-artifacts",
    "lake": f"{COMPANY}-datalake-curated",
    "finance": f"{COMPANY}-finance-exports",
    "dev": f"{COMPANY}-dev-scratch",
    "backup": f"{COMPANY}-backups-eu-central-1",
    "trail": f"{COMPANY}-cloudtrail-logs",
}

# What the finance team's export bucket is called in a week: the story seed draws one (the intruder
# takes its objects). Each is a name a company like this gives the bucket its ERP exports land in;
# whichever it is, the nightly exports are written to it, the pipeline and the reporting user read
# it every day, and the audit vendor looks at its policy.
FINANCE_BUCKETS = (
    f"{COMPANY}-finance-exports",
    f"{COMPANY}-finance-exports-{ACCOUNT}",
    f"{COMPANY}-erp-exports",
    f"{COMPANY}-billing-exports",
    f"{COMPANY}-finance-reporting-prod",
)


def buckets_with(finance: str) -> dict[str, str]:
    """The company's buckets in a week whose finance export bucket is ``finance`` (same keys, same order)."""
    return {k: (finance if k == "finance" else v) for k, v in BUCKETS.items()}


def bucket_region(buckets: dict[str, str]) -> dict[str, str]:
    """Every bucket lives in one region and its calls are logged there: the backups in the DR region."""
    return {b: (DR if b.endswith(DR) else HOME) for b in buckets.values()}

ENGINEERS = (
    "d.whitfield", "priya.raman", "s.haddad", "t.nakamura", "l.moreau", "a.kowalski",
    "e.fitzgerald", "k.oduya", "m.rossi", "s.ng", "b.halvorsen", "c.mendes",
)
ADMINS = ("j.okafor", "m.lindqvist", "r.banerjee")
ANALYSTS = ("f.ahmed@halyard-analytics.com", "g.santos@halyard-analytics.com",
            "h.weber@halyard-analytics.com", "i.kaur@halyard-analytics.com")
SERVICE_USERS = ("svc-backup", "svc-reporting")
NEW_HIRE = "n.castillo"
ROLES = (
    "github-actions-ci", "DeployRole-staging", "DeployRole-prod", "DataPipelineRole",
    "ReadOnlyAudit", "orders-api-role", "invoice-renderer-role", "thumbnailer-role",
    "AWSReservedSSO_DataAnalyst_3f1c2a9e5b7d4e60", "analytics-glue-role", "OrganizationAccountAccessRole",
    # added later: drawn after the others, so the earlier identifiers stay as they were
    "AWSServiceRoleForConfig", "AWSServiceRoleForAutoScaling", "AWSServiceRoleForAmazonEKS", "SecurityAuditRole",
    "eks-node-role", "rotation-lambda-role",
)
# Service-linked roles: the role, the service that assumes it, and its session name.
SERVICE_ROLES = {
    "config.amazonaws.com": ("AWSServiceRoleForConfig", "AWSConfig-Describe"),
    "autoscaling.amazonaws.com": ("AWSServiceRoleForAutoScaling", "AutoScaling"),
    "eks.amazonaws.com": ("AWSServiceRoleForAmazonEKS", "AmazonEKS"),
}
LAMBDAS = {"orders-api": "orders-api-role", "invoice-renderer": "invoice-renderer-role",
           "thumbnailer": "thumbnailer-role"}



HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"  # CloudTrail's user name for a sign-in with an unknown name

INSTANCES = ("i-0a41f7c2d9e3b5810", "i-0c93e1a7f4b2d6e05", "i-07d2b8e6a1c9f3402", "i-0f1e6a3b8c7d2e914")
STACKS = ("orders-api-prod", "orders-api-staging", "invoice-renderer-prod", "datalake-etl", "network-base")
DEV_KEYS = ("notebooks/churn_model_v3.ipynb", "tmp/sample_orders_2026-02.csv", "fixtures/invoices_small.json",
            "scratch/query_results.parquet", "exports/weekly_kpis.csv", "models/forecast_v12.pkl")
LAKE_KEYS = ("curated/orders/dt=2026-02-{d:02d}/part-0000{p}.parquet",
             "curated/customers/dt=2026-02-{d:02d}/part-0000{p}.parquet",
             "curated/sessions/dt=2026-02-{d:02d}/part-0000{p}.parquet")
# Finance export sizes by file family (the night's full exports are large).
FIN_SIZES = {"ledger": (170_000_000, 200_000_000), "invoices": (215_000_000, 245_000_000),
             "payroll": (45_000_000, 50_000_000), "customers_billing": (375_000_000, 420_000_000),
             "vendor_payments": (85_000_000, 100_000_000)}


FIN_KEYS = ("exports/2026/02/ledger_2026-02-{d:02d}.csv.gz", "exports/2026/02/invoices_2026-02-{d:02d}.parquet",
            "exports/2026/02/payroll_summary_2026-02.xlsx", "exports/2026/02/customers_billing_2026-02-{d:02d}.csv.gz",
            "exports/2026/02/vendor_payments_2026-02-{d:02d}.csv.gz")


UA_PARTNER = ("Boto3/1.35.40 md/Botocore#1.35.40 ua/2.0 os/linux#5.10.226-214.880.amzn2.x86_64 md/arch#x86_64 "
              "lang/python#3.11.10 md/pyimpl#CPython exec-env/AWS_ECS_FARGATE cfg/retry-mode#standard Botocore/1.35.40")
