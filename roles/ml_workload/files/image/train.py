"""Train a small scikit-learn model and push its metrics to the Prometheus Pushgateway.

Settings come from the environment (a Nomad dispatch sets NOMAD_META_*):
  MODEL_NAME / NOMAD_META_MODEL_NAME            model label (default digits-sgd)
  TRAINING_EPOCHS / NOMAD_META_TRAINING_EPOCHS  passes over the training set (default 20)
  LEARNING_RATE / NOMAD_META_LEARNING_RATE      constant SGD step size (default 0.01)
  DISPATCH_ID                                   run label (default: NOMAD_JOB_ID, else "manual")
  PUSHGATEWAY_URL                               e.g. http://10.0.0.5:9091; when empty, the
                                                Pushgateway is looked up in Consul:
  CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN           (default http://127.0.0.1:8500)
  PUSHGATEWAY_SERVICE                           Consul service name (default pushgateway)
  PUSHGATEWAY_SCHEME                            http or https (default http) for the address found
  PUSHGATEWAY_CA_FILE                           HTTPS: the CA the Pushgateway's certificate is checked with
  PUSHGATEWAY_TLS_SERVER_NAME                   HTTPS: the name the certificate must carry (default: the host)
  PUSHGATEWAY_USERNAME, PUSHGATEWAY_PASSWORD    HTTP basic authentication, when the Pushgateway asks for it
  PUSH_JOB                                      Pushgateway job label (default training)

Data: scikit-learn's bundled digits set (1,797 8x8 images, no download).
Metrics (one group per model and run, replaced on every push):
  mlops_training_accuracy{epoch}, mlops_training_loss{epoch}   per epoch, on the held-out set
  mlops_training_epochs_completed, mlops_training_epochs_total
  mlops_training_duration_seconds, mlops_training_samples_per_second
  mlops_training_status{status="running|succeeded|failed"}     1 for the current status
  mlops_training_start_timestamp_seconds, mlops_training_end_timestamp_seconds
Exit status: 0 when the run succeeded, 1 when training failed, 2 for bad settings,
3 when the metrics could not be pushed.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class SettingError(ValueError):
    pass


def setting(name: str, default: str) -> str:
    return os.environ.get(name) or os.environ.get(f"NOMAD_META_{name}") or default


def settings() -> dict:
    model = setting("MODEL_NAME", "digits-sgd")
    try:
        epochs = int(setting("TRAINING_EPOCHS", "20"))
    except ValueError:
        raise SettingError(f"TRAINING_EPOCHS must be a whole number, got {setting('TRAINING_EPOCHS', '')!r}") from None
    try:
        rate = float(setting("LEARNING_RATE", "0.01"))
    except ValueError:
        raise SettingError(f"LEARNING_RATE must be a number, got {setting('LEARNING_RATE', '')!r}") from None
    if not 1 <= epochs <= 1000:
        raise SettingError(f"TRAINING_EPOCHS must be between 1 and 1000, got {epochs}")
    if not 0 < rate <= 10:
        raise SettingError(f"LEARNING_RATE must be above 0 and at most 10, got {rate}")
    return {
        "model": model,
        "epochs": epochs,
        "rate": rate,
        "dispatch_id": os.environ.get("DISPATCH_ID") or os.environ.get("NOMAD_JOB_ID") or "manual",
        "push_job": os.environ.get("PUSH_JOB", "training"),
    }


def find_pushgateway() -> str:
    if os.environ.get("PUSHGATEWAY_URL"):
        return os.environ["PUSHGATEWAY_URL"].rstrip("/")
    consul = os.environ.get("CONSUL_HTTP_ADDR", "http://127.0.0.1:8500").rstrip("/")
    if "://" not in consul:
        consul = f"http://{consul}"
    service = os.environ.get("PUSHGATEWAY_SERVICE", "pushgateway")
    req = urllib.request.Request(f"{consul}/v1/health/service/{urllib.parse.quote(service)}?passing=true")
    if os.environ.get("CONSUL_HTTP_TOKEN"):
        req.add_header("X-Consul-Token", os.environ["CONSUL_HTTP_TOKEN"])
    with urllib.request.urlopen(req, timeout=10) as resp:
        entries = json.load(resp)
    if not entries:
        raise LookupError(f"no passing instance of service {service!r} in Consul at {consul}")
    svc = entries[0]["Service"]
    address = svc.get("Address") or entries[0]["Node"]["Address"]
    scheme = os.environ.get("PUSHGATEWAY_SCHEME", "http")
    if scheme not in ("http", "https"):
        raise ValueError(f"PUSHGATEWAY_SCHEME must be http or https, got {scheme!r}")
    return f"{scheme}://{address}:{svc['Port']}"


class NamedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address found in Consul, checking the certificate against a name instead."""

    def __init__(self, *args, server_name: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name or self.host)


class NamedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, server_name: str | None):
        super().__init__(context=context)
        self.server_name = server_name

    def https_open(self, req):
        connection = functools.partial(NamedHTTPSConnection, server_name=self.server_name)
        return self.do_open(connection, req, context=self._context)


def opener() -> urllib.request.OpenerDirector:
    """TLS and credentials for the Pushgateway, from the environment."""
    context = ssl.create_default_context(cafile=os.environ.get("PUSHGATEWAY_CA_FILE") or None)
    server_name = os.environ.get("PUSHGATEWAY_TLS_SERVER_NAME") or None
    return urllib.request.build_opener(NamedHTTPSHandler(context, server_name))


def basic_auth() -> dict:
    user, password = os.environ.get("PUSHGATEWAY_USERNAME", ""), os.environ.get("PUSHGATEWAY_PASSWORD", "")
    if not user:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def label_path(labels: dict) -> str:
    # Values may hold '/' (a dispatched job's ID): base64 form of the grouping key.
    parts = []
    for key, value in labels.items():
        encoded = base64.urlsafe_b64encode(value.encode()).decode().rstrip("=") or "="
        parts.append(f"{key}@base64/{encoded}")
    return "/".join(parts)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Pusher:
    def __init__(self, url: str, job: str, model: str, dispatch_id: str):
        self.url = f"{url}/metrics/{label_path({'job': job, 'model': model, 'dispatch_id': dispatch_id})}"
        self.opener = opener()
        self.headers = {"Content-Type": "text/plain", **basic_auth()}

    def push(self, samples: list[tuple[str, str, dict, float]]) -> None:
        """PUT replaces the whole group: every push carries everything known so far."""
        lines, typed = [], set()
        for name, help_text, labels, value in samples:
            if name not in typed:
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
                typed.add(name)
            label_text = ",".join(f'{k}="{escape(str(v))}"' for k, v in labels.items())
            lines.append(f"{name}{{{label_text}}} {value!r}" if label_text else f"{name} {value!r}")
        body = ("\n".join(lines) + "\n").encode()
        req = urllib.request.Request(self.url, data=body, method="PUT", headers=self.headers)
        with self.opener.open(req, timeout=10) as resp:
            resp.read()


def train(cfg: dict, report) -> dict:
    # Imported here: a bad setting is reported without loading scikit-learn.
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=42, stratify=y)
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    classes = np.unique(y)
    model = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=cfg["rate"], alpha=1e-4, random_state=0)
    rng = np.random.default_rng(0)
    history = []
    seen = 0
    started = time.monotonic()
    for epoch in range(1, cfg["epochs"] + 1):
        order = rng.permutation(len(x_train))
        model.partial_fit(x_train[order], y_train[order], classes=classes)
        seen += len(x_train)
        accuracy = float(accuracy_score(y_test, model.predict(x_test)))
        loss = float(log_loss(y_test, model.predict_proba(x_test), labels=classes))
        if not np.isfinite(loss):
            raise ArithmeticError(f"the loss diverged at epoch {epoch} (learning rate {cfg['rate']})")
        history.append({"epoch": epoch, "accuracy": accuracy, "loss": loss})
        print(f"epoch {epoch}/{cfg['epochs']}: accuracy {accuracy:.4f} loss {loss:.4f}", flush=True)
        report(history, time.monotonic() - started, seen)
    return {"history": history, "duration": time.monotonic() - started, "samples": seen}


def samples(cfg, status, history, duration, seen, start_ts, end_ts=None):
    out = []
    accuracy_help = "Accuracy on the held-out set after the epoch."
    loss_help = "Log loss on the held-out set after the epoch."
    out += [("mlops_training_accuracy", accuracy_help, {"epoch": h["epoch"]}, h["accuracy"]) for h in history]
    out += [("mlops_training_loss", loss_help, {"epoch": h["epoch"]}, h["loss"]) for h in history]
    out += [
        ("mlops_training_epochs_completed", "Epochs completed so far.", {}, float(len(history))),
        ("mlops_training_epochs_total", "Epochs requested.", {}, float(cfg["epochs"])),
        ("mlops_training_learning_rate", "SGD step size.", {}, cfg["rate"]),
        ("mlops_training_duration_seconds", "Training time so far.", {}, round(duration, 3)),
        ("mlops_training_samples_per_second", "Training samples processed per second.", {},
         round(seen / duration, 1) if duration > 0 else 0.0),
        ("mlops_training_start_timestamp_seconds", "When the run started.", {}, start_ts),
    ]  # fmt: skip
    status_help = "1 for the run's current status."
    states = ("running", "succeeded", "failed")
    out += [("mlops_training_status", status_help, {"status": s}, float(s == status)) for s in states]
    if end_ts is not None:
        out.append(("mlops_training_end_timestamp_seconds", "When the run ended.", {}, end_ts))
    return out


def main() -> int:
    try:
        cfg = settings()
    except SettingError as exc:
        print(f"bad setting: {exc}", file=sys.stderr)
        return 2
    try:
        url = find_pushgateway()
    except (OSError, LookupError, ValueError, KeyError) as exc:
        print(f"cannot find the Pushgateway: {exc}", file=sys.stderr)
        return 3
    print(f"model {cfg['model']}, {cfg['epochs']} epochs, learning rate {cfg['rate']}, "
          f"run {cfg['dispatch_id']}, pushing to {url}", flush=True)  # fmt: skip
    try:
        pusher = Pusher(url, cfg["push_job"], cfg["model"], cfg["dispatch_id"])
    except OSError as exc:  # the CA file missing or unreadable
        print(f"cannot set up HTTPS to the Pushgateway: {exc}", file=sys.stderr)
        return 3
    start_ts = time.time()
    state = {"history": [], "duration": 0.0, "seen": 0}

    def report(history, duration, seen):
        state.update(history=list(history), duration=duration, seen=seen)
        pusher.push(samples(cfg, "running", history, duration, seen, start_ts))

    try:
        pusher.push(samples(cfg, "running", [], 0.0, 0, start_ts))
        result = train(cfg, report)
    except (urllib.error.URLError, OSError) as exc:
        print(f"cannot push to the Pushgateway at {url}: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:  # the run failed: say so on the dashboard, then exit non-zero
        print(f"training failed: {exc}", file=sys.stderr)
        try:
            failed = samples(cfg, "failed", state["history"], state["duration"], state["seen"], start_ts, time.time())
            pusher.push(failed)
        except OSError as push_exc:
            print(f"cannot push the failed status: {push_exc}", file=sys.stderr)
        return 1
    done = samples(cfg, "succeeded", result["history"], result["duration"], result["samples"], start_ts, time.time())
    pusher.push(done)
    final = result["history"][-1]
    print(f"done: accuracy {final['accuracy']:.4f}, loss {final['loss']:.4f}, {result['duration']:.2f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
