"""The consul scenario's anonymous-access test (molecule/consul/tests/test_consul.py) can fail:
the same requests against real Consul agents, with ACLs on and default_policy deny (what the
role configures) and allow. Only deny refuses them; /v1/acl/tokens, which the scenario once
relied on, is refused under both and proves nothing."""

from programs import http

# What the scenario sends without a token.
ANONYMOUS = (("GET", "/v1/agent/self"), ("PUT", "/v1/kv/x"))


def answers(base):
    return [http(method, base + path, b"1" if method == "PUT" else None)[0] for method, path in ANONYMOUS]


def test_default_deny_refuses_what_allow_answers(consul_acl_agent):
    assert answers(consul_acl_agent("deny")) == [403, 403]
    allow = consul_acl_agent("allow")
    assert answers(allow) == [200, 200]
    # The request the scenario used to rely on is refused under allow as well.
    assert http("GET", allow + "/v1/acl/tokens")[0] == 403
