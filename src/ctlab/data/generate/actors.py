"""The benign actors: one function per behaviour, called once per hour of the week, and the
week's scripted administrative changes."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from ctlab.data.generate.bursts import burst
from ctlab.data.generate.cast import (
    ACCOUNT,
    ADMINS,
    ANALYSTS,
    DEV_KEYS,
    ENGINEERS,
    FIN_KEYS,
    GLOBAL,
    HIDDEN,
    HOME,
    IDENTITY_STORE,
    INSTANCES,
    LAKE_KEYS,
    LAMBDAS,
    NEW_HIRE,
    OFFICE_IPS,
    STACKS,
    UA_BOTO_EC2,
    UA_BOTO_LAMBDA,
    UA_BROWSER,
    UA_BROWSER_WIN,
    UA_CLI_RUNNER,
    UA_CONSOLE,
    UA_GHA_SDK,
    VPN_IP,
)
from ctlab.data.generate.world import _console_date, _finance_size, _iso, _poisson, _Session, _World


def _intensity(t: datetime) -> float:
    """How busy people are at this UTC hour (the company works in Dublin/London time)."""
    weekend = t.weekday() >= 5
    h = t.hour
    if weekend:
        return 0.05 if 9 <= h <= 20 else 0.0
    if 9 <= h <= 17:
        return 1.0 if h not in (12, 13) else 0.6
    if h == 8 or h == 18:
        return 0.45
    if 19 <= h <= 22:
        return 0.08
    return 0.0


ENGINEER_MENU = (
    # (weight, source, eventName, family)
    (9, "s3.amazonaws.com", "ListObjects", "s3list"),
    (8, "s3.amazonaws.com", "GetObject", "s3get"),
    (4, "s3.amazonaws.com", "PutObject", "s3put"),
    (3, "s3.amazonaws.com", "HeadObject", "s3head"),
    (2, "s3.amazonaws.com", "GetObjectTagging", "s3meta"),
    (1, "s3.amazonaws.com", "GetObjectAcl", "s3meta"),
    (1, "s3.amazonaws.com", "GetObjectAttributes", "s3meta"),
    (1, "s3.amazonaws.com", "GetObjectRetention", "s3meta"),
    (2, "s3.amazonaws.com", "ListBuckets", "s3mgmt"),
    (2, "s3.amazonaws.com", "GetBucketLocation", "s3mgmt"),
    (7, "ec2.amazonaws.com", "DescribeInstances", "ec2"),
    (3, "ec2.amazonaws.com", "DescribeSecurityGroups", "ec2"),
    (2, "ec2.amazonaws.com", "DescribeVpcs", "ec2"),
    (2, "ec2.amazonaws.com", "DescribeSubnets", "ec2"),
    (5, "logs.amazonaws.com", "DescribeLogGroups", "logs"),
    (5, "logs.amazonaws.com", "FilterLogEvents", "logs"),
    (4, "monitoring.amazonaws.com", "GetMetricData", "cw"),
    (2, "monitoring.amazonaws.com", "DescribeAlarms", "cw"),
    (4, "sts.amazonaws.com", "GetCallerIdentity", "sts"),
    (3, "lambda.amazonaws.com", "ListFunctions20150331", "lambda"),
    (2, "lambda.amazonaws.com", "GetFunction20150331v2", "lambda"),
    (2, "ecr.amazonaws.com", "DescribeRepositories", "ecr"),
    (3, "ecr.amazonaws.com", "GetAuthorizationToken", "ecr"),
    (3, "ssm.amazonaws.com", "GetParameter", "ssm"),
    (3, "cloudformation.amazonaws.com", "DescribeStacks", "cfn"),
    (1, "cloudformation.amazonaws.com", "ListStacks", "cfn"),
    (1, "iam.amazonaws.com", "GetUser", "iamread"),
    (1, "iam.amazonaws.com", "ListAccessKeys", "iamread"),
    (1, "iam.amazonaws.com", "ListRoles", "iamread"),
    (1, "iam.amazonaws.com", "GetRole", "iamread"),
)
_MENU_TOTAL = sum(w for w, *_ in ENGINEER_MENU)


def _pick_menu(rng: random.Random) -> tuple[int, str, str, str]:
    x = rng.uniform(0, _MENU_TOTAL)
    for item in ENGINEER_MENU:
        x -= item[0]
        if x <= 0:
            return item
    return ENGINEER_MENU[-1]


def _cmd(source: str, name: str) -> str:
    svc = source.split(".")[0].replace("monitoring", "cloudwatch")
    if svc == "s3":
        return {"ListObjects": "s3.ls", "GetObject": "s3.cp", "PutObject": "s3.cp"}.get(name, "s3api." + _kebab(name))
    return f"{svc}.{_kebab(name.rstrip('0123456789v'))}"


def _kebab(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("-")
        out.append(ch.lower())
    return "".join(out)


def _engineer_call(w: _World, t: datetime, ident: dict[str, Any], ip: str, ua: str, console: bool) -> None:
    rng = w.rng
    _, source, name, fam = _pick_menu(rng)
    u = ua if console else ua.format(cmd=_cmd(source, name))
    day = min(28, max(1, t.day))
    if fam == "s3list":
        b = rng.choice((w.buckets["dev"], w.buckets["lake"], w.buckets["assets"], w.buckets["artifacts"]))
        params = {"list-type": "2", "prefix": rng.choice(("", "curated/", "tmp/", "exports/", "builds/")),
                  "delimiter": "/", "encoding-type": "url"}
        w.s3(t, ident, ip, u, "ListObjects", b, size=rng.randrange(200, 9000), params=params,
             error=w.failure(source, name, ident, f"arn:aws:s3:::{b}"))
    elif fam in ("s3get", "s3head", "s3meta", "s3put"):
        if rng.random() < 0.5:
            b, k = w.buckets["dev"], rng.choice(DEV_KEYS)
        else:
            b, k = w.buckets["lake"], rng.choice(LAKE_KEYS).format(d=day, p=rng.randrange(4))
        size = rng.randrange(20_000, 9_000_000) if fam in ("s3get", "s3put") else 0
        if fam in ("s3head", "s3meta"):
            size = w.object_size(b, k, rng.randrange(20_000, 9_000_000)) if fam == "s3head" else 0
        w.s3(t, ident, ip, u, name, b, k, size=size, error=w.failure(source, name, ident, f"arn:aws:s3:::{b}/{k}"))
    elif fam == "s3mgmt":
        if name == "ListBuckets":
            w.s3(t, ident, ip, u, name, None, data=False, region=GLOBAL if rng.random() < 0.3 else HOME,
                 size=rng.randrange(1000, 3000))
        else:
            b = rng.choice(list(w.buckets.values())[:5])
            w.s3(t, ident, ip, u, name, b, data=False, params={"location": ""})
    elif fam == "ec2":
        req: dict[str, Any] | None = {"filterSet": {}, "maxResults": 1000} if name != "DescribeInstances" else {
            "instancesSet": {}, "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": "data"}]}}]}}
        if name == "DescribeInstances" and rng.random() < 0.4:
            req = {"instancesSet": {"items": [{"instanceId": rng.choice(INSTANCES)}]}, "filterSet": {}}
        w.api(t, ident, ip, u, source, name, HOME, req, error=w.failure(source, name, ident))
    elif fam == "logs":
        grp = rng.choice(("/aws/lambda/orders-api", "/aws/lambda/invoice-renderer", "/ecs/datalake-etl",
                          "/aws/lambda/thumbnailer"))
        req = {"logGroupName": grp, "limit": 50} if name == "FilterLogEvents" else {"logGroupNamePrefix": "/aws/"}
        w.api(t, ident, ip, u, source, name, HOME, req, error=w.failure(source, name, ident, grp))
    elif fam == "cw":
        w.api(t, ident, ip, u, source, name, HOME, {"startTime": _iso(t - timedelta(hours=3)),
                                                    "endTime": _iso(t)} if name == "GetMetricData" else {"maxRecords": 100},
              error=w.failure(source, name, ident))
    elif fam == "sts":
        w.api(t, ident, ip, u, source, name, HOME, error=w.failure(source, name, ident))
    elif fam == "lambda":
        fn = rng.choice(list(LAMBDAS) + ["orders-api-v2"])
        req = {"functionName": fn} if name.startswith("GetFunction") else None
        w.api(t, ident, ip, u, source, name, HOME, req, error=w.failure(source, name, ident, fn))
    elif fam == "ecr":
        req = {"registryIds": [ACCOUNT]} if name == "GetAuthorizationToken" else {"repositoryNames": ["orders-api"]}
        err = w.failure(source, name, ident, "orders-api") if name != "GetAuthorizationToken" else None
        w.api(t, ident, ip, u, source, name, HOME, req, error=err)
    elif fam == "ssm":
        w.api(t, ident, ip, u, source, name, HOME, {"name": rng.choice(("/orders-api/prod/db_host",
                                                                       "/shared/feature_flags", "/datalake/etl/batch_size")),
                                                    "withDecryption": False}, error=w.failure(source, name, ident))
    elif fam == "cfn":
        stack = rng.choice(STACKS + ("orders-api-dev",))
        req = {"stackName": stack} if name == "DescribeStacks" else {"stackStatusFilter": ["UPDATE_COMPLETE"]}
        w.api(t, ident, ip, u, source, name, HOME, req,
              error=w.failure(source, name, ident, stack) if name == "DescribeStacks" else None)
    elif fam == "iamread":
        req = None
        target = ""
        if name in ("GetUser", "ListAccessKeys"):
            req = {"userName": ident.get("userName", "")} if ident.get("type") == "IAMUser" else None
            target = f"arn:aws:iam::{ACCOUNT}:user/{ident.get('userName', '')}"
        if name == "GetRole":
            role = rng.choice(("DeployRole-staging", "orders-api-role", "DataPipelineRole", "legacy-etl-role"))
            req = {"roleName": role}
            target = role
        err = w.failure(source, name, ident, target)
        if name == "ListRoles" and ident.get("userName") in ("k.oduya", "c.mendes"):
            err = w.denied(ident, "iam:ListRoles", f"arn:aws:iam::{ACCOUNT}:role/")
        w.iam_read(t, ident, ip, u, name, req, error=err)


def _travel_ip(w: _World, name: str, hour: datetime) -> str | None:
    """The VPN exit ``name`` works through while travelling that day, else None. The story's traveller
    uses the very exit the intruder will use; another colleague travels too, through other exits."""
    st = w.story
    day = (hour - w.start).days
    if name == st.traveller and day in st.travel_days:
        return st.ips[0]
    if name == st.second_traveller and day == st.travel_days[-1] + 1 and _intensity(hour) > 0:
        return st.second_exit
    return None


def _engineers(w: _World, hour: datetime) -> None:
    rng = w.rng
    lvl = _intensity(hour)
    if lvl == 0:
        return
    for name in ENGINEERS + ADMINS + (NEW_HIRE,):
        if name == NEW_HIRE and hour < w.start + timedelta(days=0, hours=11):
            continue
        u = w.users[name]
        if rng.random() > (0.85 if lvl >= 0.45 else 0.25) * min(1.0, lvl * 3):
            continue
        home = lvl < 0.45 or (hour.weekday() == 4 and name in ("a.kowalski", "m.rossi"))
        ip = _travel_ip(w, name, hour) or (u.home_ip if home else u.ip)
        # a console sign-in the first time each day someone is active
        day_key = f"{name}:{hour.date()}"
        console = name in ADMINS or rng.random() < 0.25
        if console and day_key not in w.console:
            w.console.pop(name, None)
            w.console[day_key] = "x"
            browser = UA_BROWSER if name.startswith(("j.", "r.", "p", "s", "t")) else UA_BROWSER_WIN
            t = hour + timedelta(seconds=rng.randrange(90, 600))
            slip = w.errors.random()
            if slip < 0.05:  # a mistyped password first
                w.console_login(t - timedelta(seconds=w.errors.randrange(20, 80)), name, ip, browser, ok=False)
            elif slip < 0.07:  # the e-mail address typed as the user name: CloudTrail hides it
                w.console_login(t - timedelta(seconds=w.errors.randrange(20, 80)), HIDDEN, ip, browser, ok=False)
            w.console_login(t, name, ip, browser)
            if name in ADMINS and lvl >= 0.45:
                # the console's own calls for the billing and health widgets come from AWS Internal
                ci = w.iam_user(name, console=True)
                w.api(t + timedelta(seconds=rng.randrange(20, 90)), ci, "AWS Internal", UA_CONSOLE,
                      "health.amazonaws.com", "DescribeEventAggregates", GLOBAL,
                      {"aggregateField": "eventTypeCategory", "filter": {"eventStatusCodes": ["open", "upcoming"]}})
                w.api(t + timedelta(seconds=rng.randrange(20, 90)), ci, "AWS Internal", UA_CONSOLE,
                      "ce.amazonaws.com", "GetCostAndUsage", GLOBAL,
                      {"granularity": "DAILY", "metrics": ["UnblendedCost"]})
        n = _poisson(rng, 5.5 * lvl * w.scale * (1.5 if name in ADMINS else 1.0))
        for _ in range(n):
            t = hour + timedelta(seconds=rng.randrange(3600))
            use_console = console and rng.random() < 0.35
            ident = w.iam_user(name, console=use_console)
            if rng.random() < 0.06:  # a page of the console, a script, a recursive copy: a burst
                burst(w, t, name, ident, ip, use_console)
                continue
            _engineer_call(w, t, ident, ip, UA_BROWSER if use_console else u.ua, use_console)
        # now and then someone switches into a role for a few calls
        if lvl >= 0.45 and rng.random() < 0.025 * w.scale:
            t = hour + timedelta(seconds=rng.randrange(3000))
            role = rng.choice(("ReadOnlyAudit", "DeployRole-staging"))
            s = w.assume_role(t, w.iam_user(name), ip, u.ua.format(cmd="sts.assume-role"), role, name,
                              mfa=True)
            for _ in range(rng.randrange(2, 6)):
                t += timedelta(seconds=rng.randrange(5, 120))
                _engineer_call(w, t, w.assumed(s), ip, u.ua, False)
        if name == "s.ng" and lvl >= 0.45 and f"gst:{hour.date()}" not in w.console:
            # s.ng's CLI uses MFA-backed session tokens, fetched once a day
            w.console[f"gst:{hour.date()}"] = "x"
            t = hour + timedelta(seconds=rng.randrange(30, 900))
            w.emit(w.record(t, w.iam_user(name), "sts.amazonaws.com", "GetSessionToken", GLOBAL, ip,
                            u.ua.format(cmd="sts.get-session-token"),
                            {"durationSeconds": 43200, "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.ng"},
                            {"credentials": {"accessKeyId": "ASIA" + w.ids.code(16),
                                             "expiration": _console_date(t + timedelta(hours=12)),
                                             "sessionToken": "IQoJb3JpZ2luX2VjE" + w.ids.code(40)}},
                            read_only=True))


OPEN_PRS = {"halyard-analytics/orders-api": (412, 415, 421), "halyard-analytics/invoice-renderer": (88, 90),
            "halyard-analytics/datalake-etl": (233, 236, 240)}


def _gha_login(w: _World, t: datetime, repo: str, ref: str, runner_ip: str) -> _Session:
    """A GitHub Actions job signs in through OIDC (AssumeRoleWithWebIdentity into github-actions-ci)."""
    sub = f"repo:{repo}:ref:{ref}"
    gh_key = "ASIA" + w.ids.code(16)
    rid = w.role_ids["github-actions-ci"]
    ident = {"type": "WebIdentityUser",
             "principalId": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:{sub}",
             "userName": sub,
             "identityProvider": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"}
    w.emit(w.record(t, ident, "sts.amazonaws.com", "AssumeRoleWithWebIdentity", HOME, runner_ip, UA_GHA_SDK,
                    {"roleArn": w.role_arn("github-actions-ci"), "roleSessionName": "GitHubActions",
                     "durationSeconds": 3600},
                    {"credentials": {"accessKeyId": gh_key, "sessionToken": "IQoJb3JpZ2luX2VjE" + w.ids.code(40),
                                     "expiration": _console_date(t + timedelta(hours=1))},
                     "subjectFromWebIdentityToken": sub,
                     "assumedRoleUser": {"assumedRoleId": f"{rid}:GitHubActions",
                                         "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/github-actions-ci/GitHubActions"},
                     "provider": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
                     "audience": "sts.amazonaws.com"},
                    read_only=True,
                    resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": w.role_arn("github-actions-ci")}]))
    return _Session("github-actions-ci", "GitHubActions", gh_key, t)


def _ci(w: _World, hour: datetime) -> None:
    """GitHub Actions: OIDC into github-actions-ci, then AssumeRole into a deploy role."""
    rng = w.rng
    lvl = _intensity(hour)
    lam = (2.0 * lvl if hour.weekday() < 5 else 0.15 * lvl) * w.scale
    if hour.hour == 6:  # nightly scheduled build
        lam += 0.8 * w.scale
    for _ in range(_poisson(rng, lam)):
        t = hour + timedelta(seconds=rng.randrange(3300))
        run = rng.randrange(13_000_000_000, 13_999_999_999)
        repo = rng.choice(("halyard-analytics/orders-api", "halyard-analytics/invoice-renderer",
                           "halyard-analytics/datalake-etl"))
        ref = "refs/heads/main" if rng.random() < 0.55 else f"refs/pull/{rng.choice(OPEN_PRS[repo])}/merge"
        prod = ref == "refs/heads/main" and rng.random() < 0.5
        runner_ip = f"198.51.100.{rng.randrange(120, 180)}"
        if runner_ip == w.story.ips[1]:  # the intruder's machine shares the runners' range, not an address
            runner_ip = f"198.51.100.{180 + rng.randrange(10)}"
        ci = _gha_login(w, t, repo, ref, runner_ip)
        t += timedelta(seconds=rng.randrange(20, 90))
        w.s3(t, w.assumed(ci), runner_ip, UA_CLI_RUNNER.format(cmd="s3.cp"), "PutObject", w.buckets["artifacts"],
             f"builds/{repo.split('/')[1]}/{run}/bundle.zip", size=rng.randrange(2_000_000, 40_000_000))
        role = "DeployRole-prod" if prod else "DeployRole-staging"
        t += timedelta(seconds=rng.randrange(30, 240))
        dep = w.assume_role(t, w.assumed(ci), runner_ip, UA_GHA_SDK, role, "GitHubActions", region=HOME)
        di = w.assumed(dep)
        ua = UA_CLI_RUNNER
        t += timedelta(seconds=rng.randrange(3, 20))
        w.api(t, di, runner_ip, ua.format(cmd="sts.get-caller-identity"), "sts.amazonaws.com", "GetCallerIdentity", HOME)
        stack = {"halyard-analytics/orders-api": "orders-api", "halyard-analytics/invoice-renderer": "invoice-renderer",
                 "halyard-analytics/datalake-etl": "datalake-etl"}[repo]
        stack += "-prod" if prod else ("-staging" if stack != "datalake-etl" else "")
        t += timedelta(seconds=rng.randrange(3, 20))
        w.api(t, di, runner_ip, ua.format(cmd="cloudformation.describe-stacks"), "cloudformation.amazonaws.com",
              "DescribeStacks", HOME, {"stackName": stack})
        t += timedelta(seconds=rng.randrange(3, 20))
        w.s3(t, di, runner_ip, ua.format(cmd="s3.cp"), "GetObject", w.buckets["artifacts"],
             f"builds/{repo.split('/')[1]}/{run}/bundle.zip", size=rng.randrange(2_000_000, 40_000_000))
        t += timedelta(seconds=rng.randrange(10, 60))
        w.api(t, di, runner_ip, ua.format(cmd="cloudformation.deploy"), "cloudformation.amazonaws.com",
              "CreateChangeSet", HOME, {"stackName": stack, "changeSetName": f"deploy-{run}",
                                        "changeSetType": "UPDATE"}, read_only=False)
        t += timedelta(seconds=rng.randrange(20, 90))
        w.api(t, di, runner_ip, ua.format(cmd="cloudformation.deploy"), "cloudformation.amazonaws.com",
              "ExecuteChangeSet", HOME, {"stackName": stack, "changeSetName": f"deploy-{run}"}, read_only=False)
        if "datalake" not in stack:
            fn = stack.rsplit("-", 1)[0]
            t += timedelta(seconds=rng.randrange(20, 90))
            # CloudFormation acts with the deploying role's session, from its own host
            w.api(t, dict(di, invokedBy="cloudformation.amazonaws.com"), "cloudformation.amazonaws.com",
                  "cloudformation.amazonaws.com", "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", HOME,
                  {"functionName": fn, "s3Bucket": w.buckets["artifacts"]}, read_only=False)


def _lambdas(w: _World, hour: datetime) -> None:
    rng = w.rng
    lvl = max(_intensity(hour), 0.15)
    for fn, role in LAMBDAS.items():
        base = {"orders-api": 1.0, "invoice-renderer": 0.5, "thumbnailer": 0.35}[fn]
        s = w.lambda_sessions.get(fn)
        if s is None or hour - s.created >= timedelta(hours=6) or rng.random() < 0.5 * lvl:
            t = hour + timedelta(seconds=rng.randrange(600))
            ident = w.service("lambda.amazonaws.com")
            s = w.assume_role(t, ident, "lambda.amazonaws.com", "lambda.amazonaws.com", role, fn, region=HOME,
                              duration=43200)
            w.lambda_sessions[fn] = s
        ident = w.assumed(s)
        ip = "198.51.100.241" if fn != "thumbnailer" else "198.51.100.242"
        for _ in range(_poisson(rng, 7.0 * base * lvl * w.scale)):
            t = hour + timedelta(seconds=rng.randrange(600, 3600))
            r = rng.random()
            if fn == "orders-api":
                if r < 0.4:
                    w.api(t, ident, ip, UA_BOTO_LAMBDA, "kms.amazonaws.com", "Decrypt", HOME,
                          {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                           "encryptionContext": {"aws:lambda:FunctionArn": f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:{fn}"}},
                          resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                                      "ARN": f"arn:aws:kms:{HOME}:{ACCOUNT}:key/6f2a9c41-0d7e-4b1a-9e53-2c8d1f0b7a64"}],
                          error=w.failure("kms.amazonaws.com", "Decrypt", ident))
                elif r < 0.7:
                    w.api(t, ident, ip, UA_BOTO_LAMBDA, "secretsmanager.amazonaws.com", "GetSecretValue", HOME,
                          {"secretId": "prod/orders-api/db"},
                          error=w.failure("secretsmanager.amazonaws.com", "GetSecretValue", ident))
                else:
                    w.api(t, ident, ip, UA_BOTO_LAMBDA, "ssm.amazonaws.com", "GetParameter", HOME,
                          {"name": "/orders-api/prod/feature_flags", "withDecryption": True},
                          error=w.failure("ssm.amazonaws.com", "GetParameter", ident))
            elif fn == "invoice-renderer":
                if r < 0.5:
                    d = min(28, hour.day)
                    w.s3(t, ident, ip, UA_BOTO_LAMBDA, "PutObject", w.buckets["finance"],
                         f"invoices/2026/02/{d:02d}/INV-{rng.randrange(100000, 999999)}.pdf",
                         size=rng.randrange(40_000, 400_000))
                else:
                    w.s3(t, ident, ip, UA_BOTO_LAMBDA, "GetObject", w.buckets["assets"],
                         rng.choice(("templates/invoice_v4.html", "fonts/Inter-Regular.woff2", "img/logo.png")),
                         size=rng.randrange(10_000, 300_000))
            else:
                k = f"uploads/{w.ids.hexs(12)}.jpg"
                w.s3(t, ident, ip, UA_BOTO_LAMBDA, "GetObject", w.buckets["assets"], k,
                     size=rng.randrange(200_000, 6_000_000))
                w.s3(t + timedelta(seconds=2), ident, ip, UA_BOTO_LAMBDA, "PutObject", w.buckets["assets"],
                     k.replace("uploads/", "thumbs/"), size=rng.randrange(8_000, 60_000))


def _pipeline(w: _World, hour: datetime) -> None:
    """The nightly ETL task (ECS) reads the finance exports and writes the data lake."""
    if hour.hour != 2:
        return
    rng = w.rng
    t = hour + timedelta(minutes=30, seconds=rng.randrange(40))
    task = w.ids.hexs(32)
    s = w.assume_role(t, w.service("ecs-tasks.amazonaws.com"), "ecs-tasks.amazonaws.com",
                      "ecs-tasks.amazonaws.com", "DataPipelineRole", task, region=HOME, duration=21600)
    ident = w.assumed(s)
    ip = "198.51.100.230"
    d = min(28, max(1, (hour - timedelta(days=1)).day))
    t += timedelta(seconds=rng.randrange(5, 30))
    w.s3(t, ident, ip, UA_BOTO_EC2, "ListObjects", w.buckets["finance"], size=4200,
         params={"list-type": "2", "prefix": "exports/2026/02/", "encoding-type": "url"})
    for k in FIN_KEYS[:2] + FIN_KEYS[3:]:
        t += timedelta(seconds=rng.randrange(4, 40))
        w.s3(t, ident, ip, UA_BOTO_EC2, "GetObject", w.buckets["finance"], k.format(d=d),
             size=_finance_size(rng, k))
    for part in range(max(1, int(round(3 * w.scale)))):
        t += timedelta(seconds=rng.randrange(10, 90))
        w.s3(t, ident, ip, UA_BOTO_EC2, "PutObject", w.buckets["lake"],
             f"curated/orders/dt=2026-02-{d:02d}/part-0000{part}.parquet", size=rng.randrange(1_000_000, 9_000_000))
    t += timedelta(seconds=rng.randrange(10, 90))
    w.api(t, ident, ip, UA_BOTO_EC2, "glue.amazonaws.com", "StartJobRun", HOME,
          {"jobName": "curate-orders", "arguments": {"--dt": f"2026-02-{d:02d}"}}, read_only=False)


def _analysts(w: _World, hour: datetime) -> None:
    """Analysts sign in through IAM Identity Center (SAML) and query the lake with Athena."""
    rng = w.rng
    lvl = _intensity(hour)
    if lvl < 0.45 or hour.weekday() >= 5:
        return
    role = "AWSReservedSSO_DataAnalyst_3f1c2a9e5b7d4e60"
    for email in ANALYSTS:
        key = f"saml:{email}:{hour.date()}"
        if key not in w.console and rng.random() < 0.35:
            t = hour + timedelta(seconds=rng.randrange(60, 1800))
            skey = "ASIA" + w.ids.code(16)
            # the portal sign-in (Identity Center names the user only in additionalEventData)
            idc = {"type": "IdentityCenterUser", "accountId": ACCOUNT, "credentialId": w.ids.uuid(),
                   "onBehalfOf": {"userId": w.idc_ids[email],
                                  "identityStoreArn": f"arn:aws:identitystore::{ACCOUNT}:identitystore/{IDENTITY_STORE}"}}
            w.emit(w.record(t - timedelta(seconds=rng.randrange(20, 50)), idc, "signin.amazonaws.com",
                            "UserAuthentication", HOME, VPN_IP, UA_BROWSER, None, None, read_only=False,
                            event_type="AwsServiceEvent",
                            add={"UserName": email, "CredentialType": "PASSWORD", "AuthWorkflowID": w.ids.uuid(),
                                 "LoginTo": f"https://{IDENTITY_STORE}.awsapps.com/start/"},
                            extra={"serviceEventDetails": {"UserAuthentication": "Success"}}))
            ident = {"type": "SAMLUser", "principalId": f"Jf3vQ0m9bL7kP2xW8rT4yU6n1cA=:{email}",
                     "userName": email, "identityProvider": "Jf3vQ0m9bL7kP2xW8rT4yU6n1cA="}
            rid = w.role_ids[role]
            w.emit(w.record(t, ident, "sts.amazonaws.com", "AssumeRoleWithSAML", GLOBAL, VPN_IP, UA_BROWSER,
                            {"sAMLAssertionID": "_" + w.ids.hexs(32), "roleSessionName": email,
                             "principalArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_e41c7b2a9d3f6058_DO_NOT_DELETE",
                             "roleArn": w.role_arn(role), "durationSeconds": 43200},
                            {"credentials": {"accessKeyId": skey, "sessionToken": "IQoJb3JpZ2luX2VjE" + w.ids.code(40),
                                             "expiration": _console_date(t + timedelta(hours=12))},
                             "assumedRoleUser": {"assumedRoleId": f"{rid}:{email}",
                                                 "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{email}"},
                             "subject": email, "subjectType": "persistent", "audience": "https://signin.aws.amazon.com/saml"},
                            read_only=True,
                            resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": w.role_arn(role)}]))
            w.console[key] = skey
            signed_in = _Session(role, email, skey, t, True)
            w.sso_sessions[key] = signed_in
            # the SSO console sign-in: an assumed-role session of the permission set's role
            sso = {k: v for k, v in w.assumed(signed_in).items() if k != "accessKeyId"}
            w.emit(w.record(t + timedelta(seconds=2), sso, "signin.amazonaws.com", "ConsoleLogin", GLOBAL, VPN_IP,
                            UA_BROWSER, None, {"ConsoleLogin": "Success"}, read_only=False,
                            event_type="AwsConsoleSignIn",
                            add={"LoginTo": "https://eu-west-1.console.aws.amazon.com/athena/home", "MobileVersion": "No",
                                 "MFAUsed": "No"}))
        s = w.sso_sessions.get(key)
        if s is None:
            continue
        ident = w.assumed(s)
        for _ in range(_poisson(rng, 0.8 * lvl * w.scale)):
            t = hour + timedelta(seconds=rng.randrange(3600))
            if t <= s.created:
                t = s.created + timedelta(seconds=rng.randrange(10, 600))
            qid = w.ids.uuid()
            w.api(t, ident, VPN_IP, UA_BROWSER, "athena.amazonaws.com", "StartQueryExecution", HOME,
                  {"queryString": "***OMITTED***", "workGroup": "analysts",
                   "queryExecutionContext": {"database": "curated"}}, {"queryExecutionId": qid}, read_only=False)
            w.api(t + timedelta(seconds=rng.randrange(2, 30)), ident, VPN_IP, UA_BROWSER, "athena.amazonaws.com",
                  "GetQueryResults", HOME, {"queryExecutionId": qid, "maxResults": 100},
                  error=w.failure("athena.amazonaws.com", "GetQueryResults", ident))
            if rng.random() < 0.4:
                db = rng.choice(("curated", "curated", "curated_v2"))
                w.api(t + timedelta(seconds=rng.randrange(30, 90)), ident, VPN_IP, UA_BROWSER, "glue.amazonaws.com",
                      "GetTables", HOME, {"databaseName": db},
                      error=w.failure("glue.amazonaws.com", "GetTables", ident, db))
            if rng.random() < 0.25:
                d = min(28, hour.day)
                w.s3(t + timedelta(seconds=rng.randrange(30, 200)), ident, VPN_IP, UA_BROWSER, "GetObject",
                     w.buckets["lake"], rng.choice(LAKE_KEYS).format(d=d, p=rng.randrange(4)),
                     size=rng.randrange(500_000, 20_000_000))


def _backup(w: _World, hour: datetime) -> None:
    if hour.hour != 1:
        return
    rng = w.rng
    u = w.users["svc-backup"]
    ident = w.iam_user("svc-backup")
    t = hour + timedelta(minutes=5, seconds=rng.randrange(60))
    w.s3(t, ident, u.ip, UA_BOTO_EC2, "ListObjects", w.buckets["lake"], size=8800,
         params={"list-type": "2", "prefix": "curated/", "encoding-type": "url"})
    for _ in range(max(1, int(round(6 * w.scale)))):
        t += timedelta(seconds=rng.randrange(5, 60))
        k = rng.choice(LAKE_KEYS).format(d=min(28, hour.day), p=rng.randrange(4))
        size = w.object_size(w.buckets["lake"], k, rng.randrange(1_000_000, 30_000_000))  # a copy keeps its size
        w.s3(t, ident, u.ip, UA_BOTO_EC2, "PutObject", w.buckets["backup"], "daily/" + k, size=size)
    t += timedelta(seconds=30)
    w.api(t, ident, u.ip, UA_BOTO_EC2, "ec2.amazonaws.com", "CreateSnapshot", HOME,
          {"volumeId": "vol-0b7e2f9a4c1d3e865", "description": "nightly backup"}, read_only=False)
    w.api(t + timedelta(seconds=40), ident, u.ip, UA_BOTO_EC2, "ec2.amazonaws.com", "DescribeSnapshots", HOME,
          {"ownersSet": {"items": [{"owner": "self"}]}, "maxResults": 100})
    # svc-reporting pulls a daily KPI file from the finance bucket for the BI tool
    r = w.users["svc-reporting"]
    t = hour + timedelta(hours=5, minutes=rng.randrange(10, 40))
    d = min(28, max(1, (hour - timedelta(days=1)).day))
    w.s3(t, w.iam_user("svc-reporting"), r.ip, UA_BOTO_EC2, "GetObject", w.buckets["finance"],
         FIN_KEYS[0].format(d=d), size=_finance_size(rng, FIN_KEYS[0]))
    # the BI dashboard gets a federated session from svc-reporting's key and queries the lake with it
    t += timedelta(seconds=rng.randrange(30, 120))
    fed_key = "ASIA" + w.ids.code(16)
    w.emit(w.record(t, w.iam_user("svc-reporting"), "sts.amazonaws.com", "GetFederationToken", GLOBAL, r.ip,
                    UA_BOTO_EC2, {"name": "bi-dashboard", "durationSeconds": 3600},
                    {"credentials": {"accessKeyId": fed_key, "sessionToken": "IQoJb3JpZ2luX2VjE" + w.ids.code(40),
                                     "expiration": _console_date(t + timedelta(hours=1))},
                     "federatedUser": {"arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bi-dashboard",
                                       "federatedUserId": f"{ACCOUNT}:bi-dashboard"}, "packedPolicySize": 6},
                    read_only=False))
    fed = {"type": "FederatedUser", "principalId": f"{ACCOUNT}:bi-dashboard",
           "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bi-dashboard", "accountId": ACCOUNT, "accessKeyId": fed_key,
           "sessionContext": {"sessionIssuer": {"type": "IAMUser", "principalId": r.uid,
                                                "arn": f"arn:aws:iam::{ACCOUNT}:user/svc-reporting",
                                                "accountId": ACCOUNT, "userName": "svc-reporting"},
                              "attributes": {"creationDate": _iso(t), "mfaAuthenticated": "false"}}}
    for _ in range(rng.randrange(2, 5)):
        t += timedelta(seconds=rng.randrange(5, 60))
        qid = w.ids.uuid()
        w.api(t, fed, r.ip, UA_BOTO_EC2, "athena.amazonaws.com", "StartQueryExecution", HOME,
              {"queryString": "***OMITTED***", "workGroup": "bi"}, {"queryExecutionId": qid}, read_only=False)
        w.api(t + timedelta(seconds=rng.randrange(3, 20)), fed, r.ip, UA_BOTO_EC2, "athena.amazonaws.com",
              "GetQueryResults", HOME, {"queryExecutionId": qid, "maxResults": 1000},
              error=w.failure("athena.amazonaws.com", "GetQueryResults", fed))



def _admin_script(w: _World) -> None:
    """The week's benign identity changes, at fixed times."""
    s0 = w.start
    rng = w.rng

    def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
        return s0 + timedelta(days=day, hours=hh, minutes=mm, seconds=ss)

    def cua(name: str, cmd: str) -> str:
        return w.users[name].ua.format(cmd=cmd)

    days = w.days
    if days < 1:
        return
    # Monday: j.okafor onboards the new hire n.castillo
    j = w.iam_user("j.okafor", console=True)
    ip = OFFICE_IPS[0]
    t = at(0, 10, 12, 31)
    w.iam_write(t, j, ip, UA_CONSOLE, "CreateUser", {"userName": NEW_HIRE, "tags": [{"key": "team", "value": "data"}]},
                {"user": {"path": "/", "userName": NEW_HIRE, "userId": w.users[NEW_HIRE].uid,
                          "arn": f"arn:aws:iam::{ACCOUNT}:user/{NEW_HIRE}", "createDate": _console_date(t),
                          "tags": [{"key": "team", "value": "data"}]}})
    w.iam_write(at(0, 10, 12, 58), j, ip, UA_CONSOLE, "CreateLoginProfile",
                {"userName": NEW_HIRE, "passwordResetRequired": True},
                {"loginProfile": {"userName": NEW_HIRE, "createDate": _console_date(at(0, 10, 12, 58)),
                                  "passwordResetRequired": True}})
    w.iam_write(at(0, 10, 13, 20), j, ip, UA_CONSOLE, "AddUserToGroup", {"groupName": "engineers", "userName": NEW_HIRE})
    w.iam_write(at(0, 10, 13, 41), j, ip, UA_CONSOLE, "AttachUserPolicy",
                {"userName": NEW_HIRE, "policyArn": "arn:aws:iam::aws:policy/IAMUserChangePassword"})
    w.create_access_key(at(0, 10, 14, 5), j, ip, UA_CONSOLE, NEW_HIRE)
    w.console_login(at(0, 11, 2, 44), NEW_HIRE, OFFICE_IPS[0], UA_BROWSER, mfa=False)
    w.emit(w.record(at(0, 11, 6, 10), w.iam_user(NEW_HIRE, console=True), "iam.amazonaws.com", "CreateVirtualMFADevice",
                    GLOBAL, OFFICE_IPS[0], UA_CONSOLE, {"virtualMFADeviceName": NEW_HIRE, "path": "/"},
                    {"virtualMFADevice": {"serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/{NEW_HIRE}"}}, read_only=False))
    w.emit(w.record(at(0, 11, 6, 52), w.iam_user(NEW_HIRE, console=True), "iam.amazonaws.com", "EnableMFADevice",
                    GLOBAL, OFFICE_IPS[0], UA_CONSOLE,
                    {"userName": NEW_HIRE, "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/{NEW_HIRE}"}, None,
                    read_only=False))
    if days < 2:
        return
    # Tuesday: s.haddad lost her phone; m.lindqvist removes the old device, she enrols a new one
    m = w.iam_user("m.lindqvist", console=True)
    w.iam_write(at(1, 9, 47, 12), m, OFFICE_IPS[1], UA_CONSOLE, "DeactivateMFADevice",
                {"userName": "s.haddad", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.haddad"})
    w.iam_write(at(1, 9, 47, 30), m, OFFICE_IPS[1], UA_CONSOLE, "DeleteVirtualMFADevice",
                {"serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.haddad"})
    # and reviews the account's other devices through the audit role
    s = w.assume_role(at(1, 9, 52, 40), w.iam_user("m.lindqvist"), OFFICE_IPS[1],
                      cua("m.lindqvist", "sts.assume-role"), "ReadOnlyAudit", "m.lindqvist", mfa=True)
    w.iam_read(at(1, 9, 52, 51), w.assumed(s), OFFICE_IPS[1], cua("m.lindqvist", "iam.list-virtual-mfa-devices"),
               "ListVirtualMFADevices", {"assignmentStatus": "Any"})
    sh = w.iam_user("s.haddad", console=True)
    w.iam_write(at(1, 10, 3, 8), sh, OFFICE_IPS[0], UA_CONSOLE, "CreateVirtualMFADevice",
                {"virtualMFADeviceName": "s.haddad", "path": "/"},
                {"virtualMFADevice": {"serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.haddad"}})
    w.iam_write(at(1, 10, 3, 51), sh, OFFICE_IPS[0], UA_CONSOLE, "EnableMFADevice",
                {"userName": "s.haddad", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.haddad"})
    # the root user signs in once to check billing
    w.console_login(at(1, 16, 20, 3), "root", OFFICE_IPS[1], UA_BROWSER, root=True)
    root = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT,
            "accessKeyId": "ASIA" + w.ids.code(16),
            "sessionContext": {"attributes": {"creationDate": _iso(at(1, 16, 20, 3)), "mfaAuthenticated": "true"}}}
    w.iam_read(at(1, 16, 21, 40), root, OFFICE_IPS[1], UA_CONSOLE, "GetAccountSummary")
    w.iam_read(at(1, 16, 22, 2), root, OFFICE_IPS[1], UA_CONSOLE, "ListMFADevices")
    w.api(at(1, 16, 24, 30), root, OFFICE_IPS[1], UA_CONSOLE, "ce.amazonaws.com", "GetCostAndUsage", GLOBAL,
          {"granularity": "MONTHLY", "metrics": ["UnblendedCost"]})
    if days < 3:
        return
    # Wednesday: priya.raman rotates her own key; j.okafor sets up a Glue role
    p = w.iam_user("priya.raman")
    old = w.users["priya.raman"].key
    _, new = w.create_access_key(at(2, 11, 30, 17), p, OFFICE_IPS[1], cua("priya.raman", "iam.create-access-key"), None)
    w.iam_write(at(2, 11, 41, 2), p, OFFICE_IPS[1], cua("priya.raman", "iam.update-access-key"), "UpdateAccessKey",
                {"userName": "priya.raman", "accessKeyId": old, "status": "Inactive"})
    w.users["priya.raman"].key = new
    j = w.iam_user("j.okafor", console=True)
    trust = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"glue.amazonaws.com"},'
             '"Action":"sts:AssumeRole"}]}')
    w.iam_write(at(2, 15, 40, 9), j, OFFICE_IPS[0], UA_CONSOLE, "CreateRole",
                {"roleName": "analytics-glue-role", "assumeRolePolicyDocument": trust, "path": "/"},
                {"role": {"roleName": "analytics-glue-role", "roleId": w.role_ids["analytics-glue-role"],
                          "arn": w.role_arn("analytics-glue-role"), "path": "/",
                          "createDate": _console_date(at(2, 15, 40, 9))}})
    w.iam_write(at(2, 15, 40, 44), j, OFFICE_IPS[0], UA_CONSOLE, "AttachRolePolicy",
                {"roleName": "analytics-glue-role", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"})
    w.iam_write(at(2, 15, 41, 10), j, OFFICE_IPS[0], UA_CONSOLE, "AttachRolePolicy",
                {"roleName": "analytics-glue-role", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})
    if days < 4:
        return
    # Thursday: a prod deployment changes the orders-api role; r.banerjee gives l.moreau an inline policy
    gha = _gha_login(w, at(3, 9, 46, 40), "halyard-analytics/orders-api", "refs/heads/main", "198.51.100.131")
    dep = w.assume_role(at(3, 9, 48, 2), w.assumed(gha), "198.51.100.131", UA_GHA_SDK, "DeployRole-prod",
                        "GitHubActions", region=HOME)
    cfn = dict(w.assumed(dep), invokedBy="cloudformation.amazonaws.com")
    w.iam_write(at(3, 9, 50, 37), cfn, "cloudformation.amazonaws.com", "cloudformation.amazonaws.com",
                "AttachRolePolicy", {"roleName": "orders-api-role",
                                     "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/orders-api-sqs-publish"})
    w.iam_write(at(3, 9, 50, 39), cfn, "cloudformation.amazonaws.com", "cloudformation.amazonaws.com",
                "PutRolePolicy", {"roleName": "orders-api-role", "policyName": "xray-write",
                                  "policyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                                                    '"Action":["xray:PutTraceSegments"],"Resource":"*"}]}'})
    w.users["priya.raman"].key = new
    w.iam_write(at(3, 10, 5, 55), p, OFFICE_IPS[1], cua("priya.raman", "iam.delete-access-key"), "DeleteAccessKey",
                {"userName": "priya.raman", "accessKeyId": old})
    r = w.iam_user("r.banerjee", console=True)
    w.iam_write(at(3, 16, 18, 26), r, OFFICE_IPS[0], UA_CONSOLE, "PutUserPolicy",
                {"userName": "l.moreau", "policyName": "athena-results-write",
                 "policyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],'
                                   '"Resource":"arn:aws:s3:::halyard-datalake-curated/athena-results/*"}]}'})
    w.iam_write(at(3, 16, 25, 3), r, OFFICE_IPS[0], UA_CONSOLE, "UpdateLoginProfile",
                {"userName": "k.oduya", "passwordResetRequired": True})
    # a mistyped password for l.moreau on Thursday afternoon
    w.console_login(at(3, 14, 2, 10), "l.moreau", OFFICE_IPS[1], UA_BROWSER_WIN, mfa=False, ok=False)
    if days < 5:
        return
    # Friday: t.nakamura replaces his own MFA device; r.banerjee gives svc-reporting a second key
    tn = w.iam_user("t.nakamura", console=True)
    w.iam_write(at(4, 13, 10, 40), tn, OFFICE_IPS[1], UA_CONSOLE, "DeactivateMFADevice",
                {"userName": "t.nakamura", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/t.nakamura"})
    w.iam_write(at(4, 13, 11, 5), tn, OFFICE_IPS[1], UA_CONSOLE, "EnableMFADevice",
                {"userName": "t.nakamura", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/t.nakamura-pixel8"})
    # he tries the new device at once: an MFA-protected role from his CLI
    s = w.assume_role(at(4, 13, 14, 2), w.iam_user("t.nakamura"), OFFICE_IPS[1], cua("t.nakamura", "sts.assume-role"),
                      "DeployRole-staging", "t.nakamura", mfa=True)
    w.api(at(4, 13, 14, 9), w.assumed(s), OFFICE_IPS[1], cua("t.nakamura", "sts.get-caller-identity"),
          "sts.amazonaws.com", "GetCallerIdentity", HOME)
    _, rep_key = w.create_access_key(at(4, 15, 2, 18), r, OFFICE_IPS[0], UA_CONSOLE, "svc-reporting")
    w.iam_write(at(4, 15, 3, 1), r, OFFICE_IPS[0], UA_CONSOLE, "TagUser",
                {"userName": "svc-reporting", "tags": [{"key": "rotated", "value": "2026-02-27"}]})
    w.iam_write(at(4, 15, 3, 40), r, OFFICE_IPS[0], UA_CONSOLE, "DetachUserPolicy",
                {"userName": "n.castillo", "policyArn": "arn:aws:iam::aws:policy/IAMUserChangePassword"})
    _ = rng

