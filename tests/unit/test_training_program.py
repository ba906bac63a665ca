"""The training program's pure logic: settings, grouping key, metric samples."""

import base64

import pytest
from conftest import load_file

train = load_file("roles/ml_workload/files/image/train.py")


@pytest.fixture
def env(monkeypatch):
    for name in ("MODEL_NAME", "TRAINING_EPOCHS", "LEARNING_RATE", "DISPATCH_ID", "NOMAD_JOB_ID", "PUSH_JOB"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"NOMAD_META_{name}", raising=False)
    return monkeypatch


def test_defaults_and_dispatch_meta(env):
    assert train.settings() == {
        "model": "digits-sgd", "epochs": 20, "rate": 0.01, "dispatch_id": "manual", "push_job": "training",
    }  # fmt: skip
    env.setenv("NOMAD_META_TRAINING_EPOCHS", "5")
    env.setenv("NOMAD_META_MODEL_NAME", "digits-fast")
    env.setenv("NOMAD_JOB_ID", "ml-train/dispatch-1-abc")
    cfg = train.settings()
    assert (cfg["epochs"], cfg["model"], cfg["dispatch_id"]) == (5, "digits-fast", "ml-train/dispatch-1-abc")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRAINING_EPOCHS", "ten", "TRAINING_EPOCHS must be a whole number"),
        ("TRAINING_EPOCHS", "0", "TRAINING_EPOCHS must be between 1 and 1000"),
        ("LEARNING_RATE", "fast", "LEARNING_RATE must be a number"),
        ("LEARNING_RATE", "-1", "LEARNING_RATE must be above 0"),
    ],
)
def test_bad_settings_name_the_field(env, name, value, message):
    env.setenv(f"NOMAD_META_{name}", value)
    with pytest.raises(train.SettingError, match=message):
        train.settings()


def test_bad_setting_exits_2_before_any_push(env, capsys):
    env.setenv("TRAINING_EPOCHS", "many")
    assert train.main() == 2
    assert "TRAINING_EPOCHS" in capsys.readouterr().err


def test_grouping_key_survives_slashes():
    path = train.label_path({"job": "training", "dispatch_id": "ml-train/dispatch-1-abc"})
    parts = path.split("/")
    assert parts[0] == "job@base64"
    decoded = base64.urlsafe_b64decode(parts[3] + "=" * (-len(parts[3]) % 4)).decode()
    assert decoded == "ml-train/dispatch-1-abc"


def test_samples_carry_every_epoch_and_one_status():
    cfg = {"epochs": 2, "rate": 0.1}
    history = [{"epoch": 1, "accuracy": 0.9, "loss": 0.5}, {"epoch": 2, "accuracy": 0.95, "loss": 0.3}]
    out = train.samples(cfg, "succeeded", history, 2.0, 100, 1000.0, 1002.0)
    by_name = {}
    for name, _help, labels, value in out:
        by_name.setdefault(name, []).append((labels, value))
    assert [pair[1] for pair in by_name["mlops_training_accuracy"]] == [0.9, 0.95]
    assert by_name["mlops_training_samples_per_second"] == [({}, 50.0)]
    assert sorted((lbl["status"], v) for lbl, v in by_name["mlops_training_status"]) == [
        ("failed", 0.0), ("running", 0.0), ("succeeded", 1.0),
    ]  # fmt: skip
    assert by_name["mlops_training_end_timestamp_seconds"] == [({}, 1002.0)]
