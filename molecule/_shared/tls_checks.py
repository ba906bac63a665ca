"""TLS checks the scenarios' tests run on a host through testinfra (imported by
molecule/consul/tests and molecule/nomad/tests)."""

from pathlib import Path

PROBE = (Path(__file__).resolve().parent / "rpc_tls_probe.py").read_text()


def foreign_certificate(host, name):
    """A key and a certificate for the server's own name, from a CA the cluster does not know."""
    host.check_output(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
        f" -keyout /root/foreign.key -out /root/foreign.crt -subj /CN={name} -addext subjectAltName=DNS:{name}"
    )
    return "/root/foreign.crt", "/root/foreign.key"


def rpc_connect(host, address, port, tls_byte, ca, cert="", key=""):
    """What an RPC port does with this client certificate: "accepted" or "refused: <reason>"."""
    args = f"{address} {port} {tls_byte} {ca} '{cert}' '{key}'"
    return host.check_output(f"python3 - {args} <<'EOF'\n{PROBE}\nEOF")
