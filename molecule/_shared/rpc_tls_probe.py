"""Opens a TLS connection to a Consul or Nomad RPC port the way an agent does (one byte
naming TLS, then the handshake) with the given client certificate, and prints what the
server did: "accepted" (it waits for an RPC), or "refused: <reason>".

Usage: python3 rpc_tls_probe.py ADDRESS PORT TLS_BYTE CA CERT KEY  (CERT and KEY empty: none)
Run on a host by the scenarios' tests (piped to python3 on the host)."""

import socket
import ssl
import sys

address, port, tls_byte, ca, cert, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:7]
context = ssl.create_default_context(cafile=ca)
context.check_hostname = False  # the server's name is not what this checks
if cert:
    context.load_cert_chain(cert, key)
raw = socket.create_connection((address, port), timeout=5)
raw.sendall(bytes([tls_byte]))
try:
    conn = context.wrap_socket(raw)
    conn.settimeout(3)
    # TLS 1.3: the server checks the client's certificate after the client's side of
    # the handshake is done, and says so on the first read.
    data = conn.recv(1)
    print("refused: closed" if data == b"" else "accepted")
except TimeoutError:
    print("accepted")
except (ssl.SSLError, ConnectionError) as exc:
    print(f"refused: {exc}")
