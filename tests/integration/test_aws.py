"""playbooks/aws_provision.yml and aws_destroy.yml against moto's AWS emulator.

In the order an operator meets them: bad input refused before any resource
exists; provision once (module-scoped) and assert what it built (network,
instances, load balancer, the training image's repository, CloudWatch and
SNS); a re-run changes nothing, and keeps what the scaling policy decided;
without scaling, a new client count changes only the Auto Scaling group; the
aws_ec2 inventory puts the instances in the stack's groups; destroy leaves
nothing; destroy again changes nothing. The emulator's instances do
not boot: host configuration is covered by the Molecule scenarios.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REGION = "us-east-1"
CLUSTER = "mlopstest"
TAG = "mlops-stack:cluster"
ASG_TASK = "mlops.stack.aws_infra : Auto Scaling group of the Nomad clients"
RULES_TASK = "mlops.stack.aws_infra : Listener rules (the Nomad UI, and its API when asked for, to the Nomad servers)"
SCALING_TASK = "mlops.stack.aws_infra : Scaling policy of the Nomad clients (target tracking on their average CPU)"
ALARM_EMAILS = ["ops@example.com", "oncall@example.org"]
VPC_CIDR = "10.42.0.0/16"
PUBLIC = ["10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24"]
PRIVATE = ["10.42.16.0/20", "10.42.32.0/20", "10.42.48.0/20"]


def aws_env(endpoint: str) -> dict:
    """What the playbooks and the inventory plugin run with: fake credentials, the emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 (the emulator's fake keys)
        AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION,
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_DEPRECATION_WARNINGS="0",
    )  # fmt: skip
    env["NO_PROXY"] = env["no_proxy"] = ",".join(filter(None, [env.get("no_proxy", ""), "127.0.0.1", "localhost"]))
    return env


class Run:
    """One ansible-playbook run, read from the JSON callback."""

    def __init__(self, done: subprocess.CompletedProcess):
        self.rc, self.stderr = done.returncode, done.stderr
        try:
            self.output = json.loads(done.stdout)
        except ValueError:
            raise AssertionError(f"no JSON output (rc {done.returncode}):\n{done.stdout}\n{done.stderr}") from None
        self.tasks = [
            (task["task"]["name"], task["hosts"].get("localhost", {})) for play in self.output["plays"]
            for task in play["tasks"]
        ]  # fmt: skip
        self.stats = self.output["stats"].get("localhost", {})

    @property
    def changed(self) -> list[str]:
        return [name for name, result in self.tasks if result.get("changed")]

    @property
    def failed(self) -> list[tuple[str, str]]:
        failures = []
        for name, result in self.tasks:
            for item in result.get("results", [result]):
                if item.get("failed"):
                    failures.append((name, item.get("msg", "")))
        return failures

    def __str__(self) -> str:
        return f"rc {self.rc}, changed {self.changed}, failed {self.failed}\n{self.stderr[-3000:]}"


def playbook(endpoint: str, name: str, variables: dict) -> Run:
    argv = [str(BIN / "ansible-playbook"), "-i", "localhost,", f"playbooks/{name}.yml", "-e", json.dumps(variables)]
    done = subprocess.run(
        argv, cwd=ROOT, env=aws_env(endpoint), capture_output=True, text=True, timeout=600, check=False
    )
    return Run(done)


@pytest.fixture(scope="module")
def aws(moto_server):
    """boto3 clients on the emulator."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION  # noqa: S106 (fake keys)
    )
    config = Config(proxies={})

    def client(service: str):
        return session.client(service, endpoint_url=moto_server, config=config)

    return client


@pytest.fixture(scope="module")
def settings(moto_server, aws) -> dict:
    """The operator's input: a certificate from ACM, who may reach what; images found by name."""
    certificate = aws("acm").request_certificate(DomainName="mlops.example.com")["CertificateArn"]
    return {
        "aws_infra_endpoint_url": moto_server,
        "aws_infra_cluster": CLUSTER,
        "aws_infra_certificate_arn": certificate,
        "aws_infra_alb_allowed_cidrs": ["203.0.113.0/24"],
        "aws_infra_ssh_cidrs": ["198.51.100.0/24"],
        "aws_infra_ami_owner": "amazon",
        "aws_infra_ami_name": "ubuntu/images/hvm-ssd/ubuntu-*-amd64-server-*",
        "aws_infra_client_desired_capacity": 2,
        "aws_infra_alarm_emails": ALARM_EMAILS,
    }


def tagged(items: list[dict], cluster: str = CLUSTER) -> list[dict]:
    return [i for i in items if {"Key": TAG, "Value": cluster} in i.get("Tags", [])]


def leftovers(aws, cluster: str) -> dict:
    """Every kind of resource the provisioning creates that still carries the cluster's tag."""
    ec2, elb, asg = aws("ec2"), aws("elbv2"), aws("autoscaling")
    tag_filter = [{"Name": f"tag:{TAG}", "Values": [cluster]}]
    lbs = elb.describe_load_balancers()["LoadBalancers"]
    tgs = elb.describe_target_groups()["TargetGroups"]
    arns = [x["LoadBalancerArn"] for x in lbs] + [x["TargetGroupArn"] for x in tgs]
    elb_tagged = [
        d["ResourceArn"] for d in (elb.describe_tags(ResourceArns=arns)["TagDescriptions"] if arns else [])
        if {"Key": TAG, "Value": cluster} in d["Tags"]
    ]  # fmt: skip
    roles = aws("iam").list_roles(PathPrefix=f"/mlops-stack/{cluster}/")["Roles"]
    profiles = aws("iam").list_instance_profiles(PathPrefix=f"/mlops-stack/{cluster}/")["InstanceProfiles"]
    found = {
        "vpcs": ec2.describe_vpcs(Filters=tag_filter)["Vpcs"],
        "subnets": ec2.describe_subnets(Filters=tag_filter)["Subnets"],
        "internet_gateways": ec2.describe_internet_gateways(Filters=tag_filter)["InternetGateways"],
        "nat_gateways": [n for n in ec2.describe_nat_gateways(Filters=tag_filter)["NatGateways"]
                         if n["State"] != "deleted"],
        "route_tables": ec2.describe_route_tables(Filters=tag_filter)["RouteTables"],
        "security_groups": ec2.describe_security_groups(Filters=tag_filter)["SecurityGroups"],
        "instances": [i for r in ec2.describe_instances(Filters=tag_filter)["Reservations"] for i in r["Instances"]
                      if i["State"]["Name"] != "terminated"],
        "launch_templates": ec2.describe_launch_templates(Filters=tag_filter)["LaunchTemplates"],
        "auto_scaling_groups": tagged(asg.describe_auto_scaling_groups()["AutoScalingGroups"], cluster),
        "load_balancers_and_target_groups": elb_tagged,
        "iam": roles + profiles,
        "elastic_ips": ec2.describe_addresses()["Addresses"],
        **observability(aws, cluster),
    }  # fmt: skip
    return {kind: items for kind, items in found.items() if items}


def tags_of(client, arn: str) -> dict:
    """A resource's tags as a dict, through its own service's API (each spells it its own way)."""
    service = arn.split(":")[2]
    if service == "ecr":
        return {t["Key"]: t["Value"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]}
    if service == "logs":
        return client.list_tags_for_resource(resourceArn=arn.removesuffix(":*"))["tags"]
    listed = client.list_tags_for_resource(**({"ResourceArn": arn} if service == "sns" else {"ResourceARN": arn}))
    return {t["Key"]: t["Value"] for t in listed["Tags"]}


def observability(aws, cluster: str) -> dict:
    """The registry and CloudWatch side: tagged with the cluster where AWS allows tags, by name where not."""
    ecr, logs, sns, cloudwatch = aws("ecr"), aws("logs"), aws("sns"), aws("cloudwatch")
    mine = {TAG: cluster}

    def tagged_with(client, arns):
        return [arn for arn in arns if tags_of(client, arn).items() >= mine.items()]

    return {
        "ecr_repositories": tagged_with(ecr, [r["repositoryArn"] for r in ecr.describe_repositories()["repositories"]]),
        "log_groups": tagged_with(logs, [g["arn"] for g in logs.describe_log_groups()["logGroups"]]),
        "sns_topics": tagged_with(sns, [t["TopicArn"] for t in sns.list_topics()["Topics"]]),
        "alarms": tagged_with(cloudwatch, [a["AlarmArn"] for a in cloudwatch.describe_alarms()["MetricAlarms"]]),
        # Dashboards carry no tags; scaling policies are the group's.
        "dashboards": [d["DashboardArn"] for d in cloudwatch.list_dashboards()["DashboardEntries"]
                       if d["DashboardName"] == f"mlops-stack-{cluster}"],
        "scaling_policies": [p["PolicyARN"] for p in aws("autoscaling").describe_policies()["ScalingPolicies"]
                             if p["AutoScalingGroupName"] == f"{cluster}-clients"],
    }  # fmt: skip


# Bad input: refused before the first AWS call, so nothing exists afterwards.
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"aws_infra_certificate_arn": ""}, "aws_infra_certificate_arn"),
        ({"aws_infra_certificate_arn": "arn:aws:iam::123456789012:server-certificate/x"}, "aws_infra_certificate_arn"),
        ({"aws_infra_vpc_cidr": "10.42.0.0/33"}, "aws_infra_vpc_cidr"),
        ({"aws_infra_vpc_cidr": "10.42.0.1/16"}, "aws_infra_vpc_cidr"),
        ({"aws_infra_private_subnet_cidrs": ["10.42.16.0/20", "10.42.32.0/20", "10.99.0.0/20"]},
         "aws_infra_private_subnet_cidrs"),
        ({"aws_infra_public_subnet_cidrs": ["10.42.0.0/24", "10.42.1.0/24", "10.42.16.0/24"]}, "overlaps"),
        ({"aws_infra_ssh_cidrs": ["198.51.100.0/240"]}, "aws_infra_ssh_cidrs"),
        ({"aws_infra_alb_allowed_cidrs": []}, "aws_infra_alb_allowed_cidrs"),
        ({"aws_infra_log_retention_days": 45}, "aws_infra_log_retention_days"),
        ({"aws_infra_alarm_emails": ["ops@example.com", "ops at example.com"]}, '"ops at example.com"'),
    ],
    ids=["no-certificate", "not-an-acm-arn", "bad-prefix", "host-bits", "subnet-outside-vpc", "overlap",
         "bad-ssh-cidr", "no-alb-sources", "retention-cloudwatch-refuses", "email-not-an-address"],
)  # fmt: skip
def test_bad_input_is_refused_before_any_resource(moto_server, aws, settings, change, field):
    run = playbook(moto_server, "aws_provision", {**settings, "aws_infra_cluster": "badinput", **change})
    assert run.rc != 0, str(run)
    assert not run.changed, str(run)
    task, message = run.failed[0]
    assert " : Check " in task, str(run)  # a preflight check of the role
    assert field in message, message
    assert leftovers(aws, "badinput") == {}


@pytest.fixture(scope="module")
def provisioned(moto_server, settings) -> Run:
    run = playbook(moto_server, "aws_provision", settings)
    assert run.rc == 0, str(run)
    return run


def test_network(provisioned, aws):
    ec2 = aws("ec2")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": f"tag:{TAG}", "Values": [CLUSTER]}])["Vpcs"]
    assert vpc["CidrBlock"] == VPC_CIDR
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    by_tier = {
        tier: sorted((s["CidrBlock"], s["AvailabilityZone"], s["MapPublicIpOnLaunch"]) for s in subnets
                     if {"Key": "mlops-stack:tier", "Value": tier} in s["Tags"])
        for tier in ("public", "private")
    }  # fmt: skip
    for tier, cidrs in (("public", PUBLIC), ("private", PRIVATE)):
        assert [subnet[0] for subnet in by_tier[tier]] == cidrs
        assert len({subnet[1] for subnet in by_tier[tier]}) == 3, by_tier  # three zones
        assert not any(subnet[2] for subnet in by_tier[tier])  # no public addresses on launch
    subnet_ids = {s["CidrBlock"]: s["SubnetId"] for s in subnets}

    (igw,) = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])[
        "InternetGateways"
    ]
    (nat,) = [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["VpcId"] == vpc["VpcId"]]
    assert nat["State"] == "available" and nat["SubnetId"] == subnet_ids[PUBLIC[0]]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
    default_route = {
        a["SubnetId"]: next(r for r in t["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")
        for t in tables for a in t["Associations"] if a.get("SubnetId")
    }  # fmt: skip
    for cidr in PUBLIC:
        assert default_route[subnet_ids[cidr]]["GatewayId"] == igw["InternetGatewayId"]
    for cidr in PRIVATE:
        assert default_route[subnet_ids[cidr]]["NatGatewayId"] == nat["NatGatewayId"]


def rules(group: dict, names: dict) -> set:
    """A group's rules as (direction, protocol, from, to, source) for comparison."""
    out = set()
    for direction, key in (("in", "IpPermissions"), ("out", "IpPermissionsEgress")):
        for perm in group[key]:
            ports = (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"))
            out |= {(direction, *ports, r["CidrIp"]) for r in perm.get("IpRanges", [])}
            out |= {(direction, *ports, names[p["GroupId"]]) for p in perm.get("UserIdGroupPairs", [])}
    return out


def test_security_group_rules_are_exact(provisioned, aws):
    groups = aws("ec2").describe_security_groups(Filters=[{"Name": f"tag:{TAG}", "Values": [CLUSTER]}])[
        "SecurityGroups"
    ]
    names = {g["GroupId"]: g["GroupName"].removeprefix(f"{CLUSTER}-") for g in groups}
    actual = {names[g["GroupId"]]: rules(g, names) for g in groups}
    anywhere = {("out", "-1", None, None, "0.0.0.0/0")}
    assert actual == {
        # HTTPS from the allowed sources only; out only to the two UIs.
        "alb": {("in", "tcp", 443, 443, "203.0.113.0/24"),
                ("out", "tcp", 4646, 4646, "servers"), ("out", "tcp", 3000, 3000, "monitoring")},
        # Consul and Nomad only between members; SSH only from the configured range.
        "cluster": {("in", "tcp", 22, 22, "198.51.100.0/24"),
                    ("in", "tcp", 8300, 8300, "cluster"), ("in", "tcp", 8301, 8301, "cluster"),
                    ("in", "udp", 8301, 8301, "cluster"), ("in", "tcp", 8501, 8501, "cluster"),
                    ("in", "tcp", 4646, 4646, "cluster"), ("in", "tcp", 4647, 4647, "cluster"),
                    ("in", "tcp", 4648, 4648, "cluster"), ("in", "udp", 4648, 4648, "cluster")} | anywhere,
        # The UIs only through the load balancer.
        "servers": {("in", "tcp", 4646, 4646, "alb")} | anywhere,
        # Grafana through the load balancer; the Pushgateway and the image registry from cluster members.
        "monitoring": {("in", "tcp", 3000, 3000, "alb"), ("in", "tcp", 9091, 9091, "cluster"),
                       ("in", "tcp", 5000, 5000, "cluster")} | anywhere,
    }  # fmt: skip


def instances(aws, group: str) -> list[dict]:
    filters = [{"Name": "tag:mlops-stack:group", "Values": [group]}, {"Name": f"tag:{TAG}", "Values": [CLUSTER]},
               {"Name": "instance-state-name", "Values": ["pending", "running"]}]  # fmt: skip
    return [i for r in aws("ec2").describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]


def test_servers_and_monitoring_host(provisioned, aws):
    ec2 = aws("ec2")
    tier = [{"Name": "tag:mlops-stack:tier", "Values": ["private"]}, {"Name": f"tag:{TAG}", "Values": [CLUSTER]}]
    private = {s["SubnetId"] for s in ec2.describe_subnets(Filters=tier)["Subnets"]}
    servers = instances(aws, "mlops_servers")
    names = sorted(next(t["Value"] for t in i["Tags"] if t["Key"] == "Name") for i in servers)
    assert names == [f"{CLUSTER}-server-{n}" for n in (1, 2, 3)]
    assert len({i["Placement"]["AvailabilityZone"] for i in servers}) == 3  # one per zone
    assert all({"Key": "mlops-stack:join", "Value": CLUSTER} in i["Tags"] for i in servers)
    (monitoring,) = instances(aws, "mlops_monitoring")
    for instance in [*servers, monitoring]:
        assert instance["SubnetId"] in private
        assert "PublicIpAddress" not in instance
        assert instance["MetadataOptions"]["HttpTokens"] == "required"  # IMDSv2 only
        assert instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
        assert instance["IamInstanceProfile"]["Arn"].endswith(f"/mlops-stack/{CLUSTER}/{CLUSTER}-node")


def test_instance_role_allows_auto_join_image_pulls_and_logs_only(provisioned, aws):
    iam = aws("iam")
    role = f"{CLUSTER}-node"
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    policies = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert sorted(policies) == ["cloud-auto-join", "pull-training-image", "write-logs"]

    def statements(name):
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        return [(s["Effect"], s["Action"], s["Resource"]) for s in document["Statement"]]

    (repository,) = aws("ecr").describe_repositories(repositoryNames=[f"{CLUSTER}/ml-training"])["repositories"]
    account = repository["registryId"]
    assert statements("cloud-auto-join") == [("Allow", "ec2:DescribeInstances", "*")]
    # Pull only, and only from the training image's repository (the login has no resource-level permission).
    assert statements("pull-training-image") == [
        ("Allow", "ecr:GetAuthorizationToken", "*"),
        ("Allow", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         repository["repositoryArn"]),
    ]  # fmt: skip
    assert statements("write-logs") == [
        ("Allow", ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
         [f"arn:aws:logs:{REGION}:{account}:log-group:/mlops-stack/{CLUSTER}/{group}:*"
          for group in ("servers", "clients")]),
    ]  # fmt: skip
    (profile,) = iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    assert profile["InstanceProfileName"] == role


def test_clients_from_launch_template_and_auto_scaling_group(provisioned, aws):
    (group,) = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[f"{CLUSTER}-clients"])[
        "AutoScalingGroups"
    ]
    assert (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]) == (0, 2, 10)
    assert group["LaunchTemplate"]["LaunchTemplateName"] == f"{CLUSTER}-client"
    assert {"Key": "mlops-stack:group", "Value": "mlops_clients"} in [
        {"Key": t["Key"], "Value": t["Value"]} for t in group["Tags"] if t["PropagateAtLaunch"]
    ]
    (version,) = aws("ec2").describe_launch_template_versions(
        LaunchTemplateName=f"{CLUSTER}-client", Versions=[group["LaunchTemplate"]["Version"]]
    )["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"  # IMDSv2 only
    assert data["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is False
    assert len(instances(aws, "mlops_clients")) == 2


def forwards(aws) -> dict:
    """The load balancer's listener rules: path patterns (or "default") -> target group name."""
    elb = aws("elbv2")
    (lb,) = elb.describe_load_balancers(Names=[CLUSTER])["LoadBalancers"]
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    groups = {g["TargetGroupArn"]: g["TargetGroupName"] for g in elb.describe_target_groups(
        LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]}  # fmt: skip
    return {
        tuple(c["Values"][0] for c in r["Conditions"]) or ("default",): groups[r["Actions"][0]["TargetGroupArn"]]
        for r in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    }


def test_load_balancer_https_listener(provisioned, aws, settings):
    elb = aws("elbv2")
    (lb,) = elb.describe_load_balancers(Names=[CLUSTER])["LoadBalancers"]
    assert lb["Scheme"] == "internet-facing"
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]  # 443 only
    assert (listener["Protocol"], listener["Port"]) == ("HTTPS", 443)
    assert [c["CertificateArn"] for c in listener["Certificates"]] == [settings["aws_infra_certificate_arn"]]
    groups = {g["TargetGroupArn"]: g for g in elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])[
        "TargetGroups"]}  # fmt: skip
    nomad, grafana = f"{CLUSTER}-nomad", f"{CLUSTER}-grafana"
    # Only the UIs by default: Nomad's API (/v1/*) is an opt-in.
    assert forwards(aws) == {("/ui",): nomad, ("/ui/*",): nomad, ("default",): grafana}
    by_name = {g["TargetGroupName"]: g for g in groups.values()}
    assert (by_name[nomad]["Protocol"], by_name[nomad]["Port"]) == ("HTTPS", 4646)
    assert (by_name[grafana]["Protocol"], by_name[grafana]["Port"]) == ("HTTP", 3000)
    targets = {
        name: {t["Target"]["Id"] for t in elb.describe_target_health(TargetGroupArn=g["TargetGroupArn"])[
            "TargetHealthDescriptions"]}
        for name, g in by_name.items()
    }  # fmt: skip
    assert targets == {nomad: {i["InstanceId"] for i in instances(aws, "mlops_servers")},
                       grafana: {i["InstanceId"] for i in instances(aws, "mlops_monitoring")}}  # fmt: skip


def test_training_image_repository(provisioned, aws):
    ecr = aws("ecr")
    (repository,) = ecr.describe_repositories(repositoryNames=[f"{CLUSTER}/ml-training"])["repositories"]
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["imageTagMutability"] == "IMMUTABLE"
    policy = json.loads(ecr.get_lifecycle_policy(repositoryName=f"{CLUSTER}/ml-training")["lifecyclePolicyText"])
    (rule,) = policy["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}
    assert rule["action"] == {"type": "expire"}
    assert tags_of(ecr, repository["repositoryArn"])[TAG] == CLUSTER


def test_log_groups_with_retention(provisioned, aws):
    logs = aws("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/mlops-stack/{CLUSTER}/")["logGroups"]
    assert {g["logGroupName"]: g["retentionInDays"] for g in groups} == {
        f"/mlops-stack/{CLUSTER}/servers": 30, f"/mlops-stack/{CLUSTER}/clients": 30}  # fmt: skip
    assert all(tags_of(logs, g["arn"])[TAG] == CLUSTER for g in groups)


def test_cpu_alarms_notify_the_topic(provisioned, aws):
    sns, cloudwatch = aws("sns"), aws("cloudwatch")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{CLUSTER}-alarms")]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted((x["Protocol"], x["Endpoint"]) for x in subscriptions) == sorted(("email", e) for e in ALARM_EMAILS)
    assert tags_of(sns, topic)[TAG] == CLUSTER
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNamePrefix=f"{CLUSTER}-")["MetricAlarms"]}
    servers = {next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i["InstanceId"]
               for i in instances(aws, "mlops_servers")}  # fmt: skip
    expected = {f"{name}-cpu-high": [{"Name": "InstanceId", "Value": ident}] for name, ident in servers.items()}
    expected[f"{CLUSTER}-clients-cpu-high"] = [{"Name": "AutoScalingGroupName", "Value": f"{CLUSTER}-clients"}]
    assert {name: a["Dimensions"] for name, a in alarms.items()} == expected
    for alarm in alarms.values():
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/EC2", "CPUUtilization", "Average")
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 80.0)
        assert alarm["Period"] * alarm["EvaluationPeriods"] == 600
        assert alarm["AlarmActions"] == [topic] == alarm["OKActions"]
        assert tags_of(cloudwatch, alarm["AlarmArn"])[TAG] == CLUSTER


def test_clients_scale_on_their_cpu(provisioned, aws):
    (policy,) = aws("autoscaling").describe_policies(AutoScalingGroupName=f"{CLUSTER}-clients")["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ASGAverageCPUUtilization"
    assert config["TargetValue"] == 60.0


def test_dashboard(provisioned, aws):
    cloudwatch, elb = aws("cloudwatch"), aws("elbv2")
    body = json.loads(cloudwatch.get_dashboard(DashboardName=f"mlops-stack-{CLUSTER}")["DashboardBody"])
    widgets = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    assert all(w.get("region") == REGION for w in widgets.values() if "metrics" in w)

    def series(title):
        return {tuple(m[:-1]) for m in widgets[title]["metrics"]}

    asg = f"{CLUSTER}-clients"
    hosts = instances(aws, "mlops_servers") + instances(aws, "mlops_monitoring")
    cpu = {("AWS/EC2", "CPUUtilization", "InstanceId", i["InstanceId"]) for i in hosts}
    assert series("CPU utilization (%)") == cpu | {("AWS/EC2", "CPUUtilization", "AutoScalingGroupName", asg)}
    assert series("Nomad clients (Auto Scaling group)") == {
        ("AWS/AutoScaling", metric, "AutoScalingGroupName", asg)
        for metric in ("GroupInServiceInstances", "GroupDesiredCapacity")}  # fmt: skip
    (lb,) = elb.describe_load_balancers(Names=[CLUSTER])["LoadBalancers"]
    lb_dimension = lb["LoadBalancerArn"].split(":loadbalancer/")[1]
    assert series("Load balancer: requests and 5xx") == {
        ("AWS/ApplicationELB", metric, "LoadBalancer", lb_dimension)
        for metric in ("RequestCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count")}  # fmt: skip
    groups = elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    assert series("Target health") == {
        ("AWS/ApplicationELB", metric, "TargetGroup", g["TargetGroupArn"].split(":")[-1], "LoadBalancer", lb_dimension)
        for g in groups for metric in ("HealthyHostCount", "UnHealthyHostCount")}  # fmt: skip
    alarms = {a["AlarmArn"] for a in cloudwatch.describe_alarms(AlarmNamePrefix=f"{CLUSTER}-")["MetricAlarms"]}
    assert len(alarms) == 4 and set(widgets["Alarms"]["alarms"]) == alarms


def desired_clients(aws) -> int:
    (group,) = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[f"{CLUSTER}-clients"])[
        "AutoScalingGroups"
    ]
    return group["DesiredCapacity"]


def test_rerun_changes_nothing_and_keeps_the_scaling_policys_decision(provisioned, moto_server, settings, aws):
    # What the target tracking policy does when the clients are busy, between two runs.
    aws("autoscaling").set_desired_capacity(AutoScalingGroupName=f"{CLUSTER}-clients", DesiredCapacity=4)
    run = playbook(moto_server, "aws_provision", settings)
    assert run.rc == 0, str(run)
    assert run.changed == [], str(run)
    assert desired_clients(aws) == 4


def test_a_run_changes_only_what_its_settings_change(provisioned, moto_server, settings, aws):
    # Three settings in one run (each run costs half a minute): without scaling the client count is the
    # operator's again, and Nomad's API through the load balancer is an opt-in.
    before = leftovers(aws, CLUSTER)
    changes = {"aws_infra_client_scaling": False, "aws_infra_client_desired_capacity": 3,
               "aws_infra_alb_nomad_api": True}  # fmt: skip
    run = playbook(moto_server, "aws_provision", {**settings, **changes})
    assert run.rc == 0, str(run)
    assert run.changed == [ASG_TASK, RULES_TASK, SCALING_TASK], str(run)
    assert desired_clients(aws) == 3
    assert len(instances(aws, "mlops_clients")) == 3
    nomad, grafana = f"{CLUSTER}-nomad", f"{CLUSTER}-grafana"
    assert forwards(aws) == {("/ui",): nomad, ("/ui/*",): nomad, ("/v1/*",): nomad, ("default",): grafana}
    after = {kind: sorted(map(ident, items)) for kind, items in leftovers(aws, CLUSTER).items()}
    before = {kind: sorted(map(ident, items)) for kind, items in before.items()}
    # Nothing else came or went: one client fewer, the policy gone, the same everything else.
    assert len(after.pop("instances")) == len(before.pop("instances")) - 1
    assert before.pop("scaling_policies") and "scaling_policies" not in after
    assert after == before


def ident(item) -> str:
    """A resource's id (the most specific id key it has), or the ARN itself."""
    keys = ("InstanceId", "SubnetId", "InternetGatewayId", "NatGatewayId", "RouteTableId", "GroupId",
            "LaunchTemplateId", "AutoScalingGroupName", "InstanceProfileId", "RoleId", "AllocationId", "VpcId")
    return item if isinstance(item, str) else next(item[k] for k in keys if k in item)


def plain(value: dict):
    """ansible-inventory marks values it must never template: {"__ansible_unsafe": value}."""
    return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else value


def test_inventory_groups(provisioned, moto_server, aws):
    env = dict(aws_env(moto_server), AWS_URL=moto_server, MLOPS_AWS_CLUSTER=CLUSTER)
    done = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", "inventories/aws/aws_ec2.yml", "--list"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    inventory = json.loads(done.stdout)
    hosts = {group: set(inventory.get(group, {}).get("hosts", [])) for group in
             ("mlops_servers", "mlops_clients", "mlops_monitoring")}  # fmt: skip
    assert hosts == {
        "mlops_servers": {f"{CLUSTER}-server-{n}" for n in (1, 2, 3)},
        "mlops_clients": {i["InstanceId"] for i in instances(aws, "mlops_clients")},
        "mlops_monitoring": {f"{CLUSTER}-monitoring-1"},
    }
    hostvars = json.loads(done.stdout, object_hook=plain)["_meta"]["hostvars"]
    server = hostvars[f"{CLUSTER}-server-1"]
    (instance,) = [i for i in instances(aws, "mlops_servers") if {"Key": "Name", "Value": f"{CLUSTER}-server-1"}
                   in i["Tags"]]  # fmt: skip
    assert server["ansible_host"] == instance["PrivateIpAddress"]
    assert (server["mlops_aws_region"], server["mlops_aws_cluster"]) == (REGION, CLUSTER)
    # The inventory's group_vars: Consul and Nomad join by the servers' tag.
    assert server["consul_retry_join"] == ["{{ mlops_aws_join }}"] == server["nomad_retry_join"]
    assert "tag_key=mlops-stack:join tag_value={{ mlops_aws_cluster }}" in server["mlops_aws_join"]
    # The training image's registry is the cluster's ECR repository, as the clients' inventory resolves it.
    client = sorted(hosts["mlops_clients"])[0]
    resolved = subprocess.run(
        [str(BIN / "ansible"), "-i", "inventories/aws/aws_ec2.yml", client, "-m", "ansible.builtin.debug",
         "-a", "msg={{ ml_workload_registry }}/{{ ml_workload_registry_repository }}", "-o"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    (repository,) = aws("ecr").describe_repositories(repositoryNames=[f"{CLUSTER}/ml-training"])["repositories"]
    assert f'"msg": "{repository["repositoryUri"]}"' in resolved.stdout, resolved.stdout


def destroy_settings(settings: dict) -> dict:
    """Removal needs only the endpoint and the cluster name."""
    return {k: settings[k] for k in ("aws_infra_endpoint_url", "aws_infra_cluster")}


def test_destroy_removes_everything(provisioned, moto_server, settings, aws):
    assert leftovers(aws, CLUSTER)
    run = playbook(moto_server, "aws_destroy", destroy_settings(settings))
    assert run.rc == 0, str(run)
    assert leftovers(aws, CLUSTER) == {}


def test_destroy_again_is_a_no_op(provisioned, moto_server, settings):
    run = playbook(moto_server, "aws_destroy", destroy_settings(settings))
    assert run.rc == 0, str(run)
    assert run.changed == [], str(run)
