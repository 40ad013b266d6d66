"""The production recipe in deploy/ agrees with the settings: gunicorn's config, the systemd units, the environment.

The units name the production checkout (/srv/factory); here they are checked against this repository, whose
paths stand in for it.
"""

import configparser
import json
import os
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from factory import settings as settings_module
from factory.heartbeats import DOWN_PERIODS

BASE_DIR = Path(settings_module.BASE_DIR)
DEPLOY = BASE_DIR / "deploy"
UNITS = ("factory-web.service", "factory-worker.service", "factory-beat.service")
PRODUCTION_ROOT = "/srv/factory"  # the units' WorkingDirectory
GUNICORN_VARIABLES = (
    "GUNICORN_BIND",
    "GUNICORN_WORKERS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_FORWARDED_ALLOW_IPS",
)


def _gunicorn_config(monkeypatch, **env) -> dict:
    for name in GUNICORN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    # gunicorn's settings: the module's public names, without its imports and helpers.
    return {
        name: value for name, value in namespace.items() if not name.startswith("_") and isinstance(value, str | int)
    }


def _unit(name: str) -> configparser.ConfigParser:
    # systemd allows a key more than once (strict=False) and knows no %-interpolation of configparser's kind.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DEPLOY / name)
    return parser


def _environment_file() -> dict[str, str]:
    """production.env.example read as systemd reads an EnvironmentFile: KEY=VALUE lines, whole-line comments."""
    values = {}
    for line in (DEPLOY / "production.env.example").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


def _seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def test_gunicorn_config_gives_sane_values(monkeypatch):
    config = _gunicorn_config(monkeypatch)

    assert config["workers"] == 2 * os.cpu_count() + 1
    assert config["bind"] == "127.0.0.1:8000"  # behind a proxy on the same host unless told otherwise
    assert 0 < config["graceful_timeout"] <= config["timeout"]
    assert config["forwarded_allow_ips"] != "*"  # only the proxy may say who the client is
    assert config["accesslog"] == "-"
    assert config["max_requests"] > 0
    assert config["max_requests_jitter"] > 0


def test_gunicorn_config_takes_an_empty_variable_for_its_default(monkeypatch):
    assert _gunicorn_config(monkeypatch, GUNICORN_WORKERS="", GUNICORN_BIND="") == _gunicorn_config(monkeypatch)


def test_gunicorn_config_takes_its_values_from_the_environment(monkeypatch):
    config = _gunicorn_config(
        monkeypatch, GUNICORN_BIND="0.0.0.0:9000", GUNICORN_WORKERS="3", GUNICORN_FORWARDED_ALLOW_IPS="10.0.0.2"
    )

    assert (config["bind"], config["workers"], config["forwarded_allow_ips"]) == ("0.0.0.0:9000", 3, "10.0.0.2")


def test_gunicorn_accepts_the_config_and_loads_the_app():
    result = subprocess.run(
        [str(BASE_DIR / ".venv" / "bin" / "gunicorn"), "--check-config", "--config", str(DEPLOY / "gunicorn.conf.py"),
         "factory.wsgi:application"],
        cwd=BASE_DIR, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("unit", "command"),
    [
        ("factory-web.service", ["gunicorn", "--config", f"{PRODUCTION_ROOT}/deploy/gunicorn.conf.py",
                                 "factory.wsgi:application"]),
        ("factory-worker.service", ["celery", "--app", "factory", "worker"]),
        ("factory-beat.service", ["celery", "--app", "factory", "beat"]),
    ],
)  # fmt: skip
def test_each_unit_runs_its_command_from_the_repositorys_virtualenv(unit, command):
    service = _unit(unit)["Service"]
    argv = shlex.split(service["ExecStart"])

    assert service["WorkingDirectory"] == PRODUCTION_ROOT
    assert argv[0] == f"{PRODUCTION_ROOT}/.venv/bin/{command[0]}"
    assert argv[1 : len(command)] == command[1:]
    # The same paths exist in this checkout: the program in its virtualenv, the files it is given.
    assert (BASE_DIR / Path(argv[0]).relative_to(PRODUCTION_ROOT)).exists()
    for argument in argv[1:]:
        if argument.startswith(PRODUCTION_ROOT):
            assert (BASE_DIR / Path(argument).relative_to(PRODUCTION_ROOT)).is_file()


@pytest.mark.parametrize("unit", UNITS)
def test_each_unit_restarts_stops_cleanly_and_is_hardened(unit):
    parsed = _unit(unit)
    service = parsed["Service"]

    assert service["User"] == service["Group"] == "factory"
    assert service["EnvironmentFile"] == "/etc/factory/production.env"
    assert service["Restart"] == "on-failure"
    assert _seconds(service["RestartSec"]) > 0
    assert parsed["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up while a server it needs is down
    # SIGTERM to the main process, which stops its children in order; the rest is killed after TimeoutStopSec.
    assert (service["KillMode"], service["KillSignal"]) == ("mixed", "SIGTERM")
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert service["CapabilityBoundingSet"] == ""
    assert parsed["Install"]["WantedBy"] == "multi-user.target"


def test_the_worker_waits_out_the_longest_task_before_it_is_killed():
    stop_timeout = _seconds(_unit("factory-worker.service")["Service"]["TimeoutStopSec"])

    assert stop_timeout > settings_module._LONGEST_TASK_SECONDS


def test_the_web_server_lets_requests_finish_before_it_is_killed(monkeypatch):
    graceful = _gunicorn_config(monkeypatch)["graceful_timeout"]

    assert _seconds(_unit("factory-web.service")["Service"]["TimeoutStopSec"]) > graceful


def test_the_production_environment_names_every_required_setting():
    values = _environment_file()

    assert set(settings_module._REQUIRED_IN_PRODUCTION) <= {name for name, value in values.items() if value}
    assert values["DEBUG"] == "false"
    # systemd would keep a comment after a value as part of it.
    assert not [name for name, value in values.items() if "#" in value]


def _clean_environment(**values) -> dict[str, str]:
    """Only what a unit's process has: PATH, and the given variables (none of the test run's DEBUG or URLs)."""
    return {"PATH": os.environ["PATH"], **values}


def _production_environment() -> dict[str, str]:
    return _clean_environment(**{**_environment_file(), "DEBUG": "false"})


def test_deploy_check_passes_with_the_production_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=_production_environment(), capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


_BEAT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({name: getattr(settings, name, None) for name in (
    "CELERY_BEAT_SCHEDULER", "CELERY_BEAT_MAX_LOOP_INTERVAL", "CELERY_REDBEAT_LOCK_TIMEOUT", "CELERY_REDBEAT_REDIS_URL",
    "CELERY_BROKER_URL", "CELERY_BEAT_SCHEDULE")}, default=str))
"""


def _beat_settings(env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "--command", _BEAT_SETTINGS],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_beat_on_several_hosts_takes_a_lock_in_the_brokers_redis():
    beat = _beat_settings(_production_environment())
    tick_period = beat["CELERY_BEAT_SCHEDULE"]["dispatch-tick"]["schedule"]

    assert beat["CELERY_BEAT_SCHEDULER"] == "redbeat.RedBeatScheduler"
    assert beat["CELERY_REDBEAT_REDIS_URL"] == beat["CELERY_BROKER_URL"]
    # The holder renews the lock every loop, with room for a slow loop or two; a dead holder's lock expires, and
    # a standby (which tries every loop) sends again, before /healthz would call the factory down.
    assert beat["CELERY_REDBEAT_LOCK_TIMEOUT"] >= 3 * beat["CELERY_BEAT_MAX_LOOP_INTERVAL"]
    takeover = beat["CELERY_REDBEAT_LOCK_TIMEOUT"] + beat["CELERY_BEAT_MAX_LOOP_INTERVAL"]
    assert takeover < DOWN_PERIODS * tick_period


def test_development_keeps_one_beat_with_its_schedule_file(tmp_path):
    beat = _beat_settings(
        _clean_environment(DEBUG="true", FACTORY_DATA_DIR=str(tmp_path), DATABASE_URL="postgres://nobody@127.0.0.1/x")
    )

    assert beat["CELERY_BROKER_URL"].startswith("filesystem://")
    assert beat["CELERY_BEAT_SCHEDULER"] is None  # Celery's default, the PersistentScheduler
