#!/usr/bin/env python3
"""A stand-in for frp's client (frpc) in EdgeLink's tests, where real frpc is absent.

Invoked exactly as the edge agent invokes frpc:

    fake_frpc.py -c FILE            run: check the config, serve the admin API, stay up
    fake_frpc.py verify -c FILE     check the config only (exit 0 / 1 like `frpc verify`)

The config is checked strictly (frp v0.52+ TOML, or the legacy INI when it has a [common]
section, as frp decides): required fields, types, port ranges, proxies; anything wrong exits 1
with an frp-like message. Running, it serves GET /api/status on the configured admin address
with HTTP basic auth and frpc's JSON shape (a map from proxy type to a list of {name, type,
status, err, local_addr, plugin, remote_addr}), and stays up until SIGTERM (exit 0).

Failure modes, scripted by the test through the environment (inherited from the agent):
  FAKE_FRPC_MODE     comma-separated: ok | login_fail | port_in_use=PORT[+PORT...]
                     | exit_after=SECONDS[:CODE] | slow_start=SECONDS | ignore_term
  FAKE_FRPC_CONTROL  a file whose content, when it exists, replaces FAKE_FRPC_MODE (read at
                     each start, so one test can change the mode between starts)
  FAKE_FRPC_RECORD   a file to which one JSON line per start and per exit is appended
"""

import base64
import datetime
import json
import os
import re
import signal
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def log(level, where, message):
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    print(f"{now} [{level}] [{where}] {message}", flush=True)


def record(event, **fields):
    path = os.environ.get("FAKE_FRPC_RECORD")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"event": event, "pid": os.getpid(), **fields}) + "\n")


class ConfigError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Config checking


def check_port(value, field, allow_zero=False):
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{field}: expected an integer, got {type(value).__name__}")
    low = 0 if allow_zero else 1
    if value < low or value > 65535:
        raise ConfigError(f"{field}: port number {value} must be in the range {low}..65535")
    return value


def check_str(value, field, required=True):
    if value is None:
        if required:
            raise ConfigError(f"{field} should not be empty")
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{field}: expected a string, got {type(value).__name__}")
    if required and value == "":
        raise ConfigError(f"{field} should not be empty")
    if "{{" in value:
        raise ConfigError(f"{field}: template: frp: unexpected action in {value!r}")
    return value


def check_keys(table, allowed, where):
    for key in table:
        if key not in allowed:
            raise ConfigError(f'json: unknown field "{key}"' + (f" in {where}" if where else ""))


def load_toml(text):
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"toml: {e}") from None
    check_keys(doc, {"serverAddr", "serverPort", "loginFailExit", "auth", "webServer", "log",
                     "user", "transport", "proxies"}, "")
    cfg = {
        "server_addr": check_str(doc.get("serverAddr"), "serverAddr"),
        "server_port": check_port(doc.get("serverPort", 7000), "serverPort"),
        "login_fail_exit": doc.get("loginFailExit", True),
    }
    if not isinstance(cfg["login_fail_exit"], bool):
        raise ConfigError("loginFailExit: expected a boolean")
    auth = doc.get("auth", {})
    if not isinstance(auth, dict):
        raise ConfigError("auth: expected a table")
    check_keys(auth, {"method", "token"}, "auth")
    if auth.get("method", "token") not in ("token", "oidc"):
        raise ConfigError("invalid auth method, optional values are [token oidc]")
    cfg["token"] = check_str(auth.get("token"), "auth.token", required=False)
    web = doc.get("webServer")
    if not isinstance(web, dict):
        raise ConfigError("webServer: required by this stand-in (the agent needs the admin API)")
    check_keys(web, {"addr", "port", "user", "password"}, "webServer")
    cfg["admin_addr"] = check_str(web.get("addr", "127.0.0.1"), "webServer.addr")
    cfg["admin_port"] = check_port(web.get("port"), "webServer.port")
    cfg["admin_user"] = check_str(web.get("user"), "webServer.user", required=False)
    cfg["admin_password"] = check_str(web.get("password"), "webServer.password", required=False)
    transport = doc.get("transport", {})
    if not isinstance(transport, dict):
        raise ConfigError("transport: expected a table")
    check_keys(transport, {"tls"}, "transport")
    tls = transport.get("tls", {})
    if not isinstance(tls, dict):
        raise ConfigError("transport.tls: expected a table")
    check_keys(tls, {"enable"}, "transport.tls")
    if not isinstance(tls.get("enable", True), bool):
        raise ConfigError("transport.tls.enable: expected a boolean")
    cfg["tls"] = tls.get("enable", True)
    logcfg = doc.get("log", {})
    if not isinstance(logcfg, dict):
        raise ConfigError("log: expected a table")
    check_keys(logcfg, {"to", "level", "maxDays", "disablePrintColor"}, "log")
    proxies = doc.get("proxies")
    if not isinstance(proxies, list) or not proxies:
        raise ConfigError("proxies: at least one [[proxies]] is required by this stand-in")
    cfg["proxies"] = []
    for i, p in enumerate(proxies):
        if not isinstance(p, dict):
            raise ConfigError(f"proxies[{i}]: expected a table")
        check_keys(p, {"name", "type", "localIP", "localPort", "remotePort"}, f"proxies[{i}]")
        name = check_str(p.get("name"), f"proxies[{i}].name")
        cfg["proxies"].append({
            "name": name,
            "type": check_type(p.get("type"), name),
            "local_ip": check_str(p.get("localIP", "127.0.0.1"), f"proxy {name}: localIP"),
            "local_port": check_port(p.get("localPort"), f"proxy {name}: localPort"),
            "remote_port": check_port(p.get("remotePort", 0), f"proxy {name}: remotePort",
                                      allow_zero=True),
        })
    return cfg


def check_type(value, name):
    if value != "tcp":
        raise ConfigError(f"proxy {name}: unsupported proxy type {value!r} (stand-in: tcp only)")
    return value


def ini_value(raw):
    """Reads a value as go-ini does with frp's options (IgnoreInlineComment)."""
    line = raw.lstrip()
    if line == "":
        return ""
    for quote in ('"""', "`"):
        if line.startswith(quote) and len(line) > len(quote):
            end = line.rfind(quote, len(quote))
            if end < 0:
                raise ConfigError(f"missing closing key quote from {line!r}")
            return line[len(quote):end]
    line = line.strip()
    if line.endswith("\\"):
        raise ConfigError("this stand-in refuses continuation lines (a value ends with '\\')")
    if len(line) >= 2 and line[0] == line[-1] and line[0] in "\"'" \
            and line.find(line[0], 1) == len(line) - 1:
        line = line[1:-1]
    return line


def parse_ini(text):
    sections = {}
    current = None
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.lstrip()
        if line.strip() == "" or line[0] in "#;":
            continue
        if line[0] == "[":
            close = line.rfind("]")
            if close < 0:
                raise ConfigError(f"unclosed section: {line.strip()}")
            current = line[1:close]
            if current in sections:
                raise ConfigError(f"section [{current}] appears twice")
            sections[current] = {}
            continue
        m = re.match(r"([^=:]+)[=:](.*)$", line.rstrip("\r"))
        if m is None or current is None:
            raise ConfigError(f"line {number}: key-value delimiter not found: {line.strip()}")
        key = m.group(1).strip()
        value = ini_value(m.group(2))
        if "%(" in value:
            raise ConfigError(f"line {number}: value of {key} holds a %(...)s reference")
        if "{{" in value:
            raise ConfigError(f"template: frp: unexpected action in {value!r}")
        sections[current][key] = value
    return sections


def ini_port(section, key, where, required=True, allow_zero=False):
    if key not in section:
        if required:
            raise ConfigError(f"{where}: {key} is required")
        return 0
    try:
        value = int(section[key])
    except ValueError:
        raise ConfigError(f'{where}: {key}: strconv.ParseInt: parsing "{section[key]}": '
                          "invalid syntax") from None
    return check_port(value, f"{where}: {key}", allow_zero)


def load_ini(text):
    sections = parse_ini(text)
    common = sections.pop("common")
    check_keys(common, {"server_addr", "server_port", "login_fail_exit", "authentication_method",
                        "token", "admin_addr", "admin_port", "admin_user", "admin_pwd",
                        "disable_log_color", "user", "log_level", "tls_enable"}, "[common]")
    for key in ("login_fail_exit", "disable_log_color", "tls_enable"):
        if common.get(key, "true") not in ("true", "false"):
            raise ConfigError(f"[common]: {key}: expected true or false")
    cfg = {
        "server_addr": check_str(common.get("server_addr"), "server_addr"),
        "server_port": ini_port(common, "server_port", "[common]"),
        "login_fail_exit": common.get("login_fail_exit", "true") == "true",
        "token": common.get("token", ""),
        "admin_addr": common.get("admin_addr", "127.0.0.1"),
        "admin_port": ini_port(common, "admin_port", "[common]"),
        "admin_user": common.get("admin_user", ""),
        "admin_password": common.get("admin_pwd", ""),
        "tls": common.get("tls_enable", "true") == "true",
        "proxies": [],
    }
    if common.get("authentication_method", "token") not in ("token", "oidc"):
        raise ConfigError("invalid authentication_method")
    if not sections:
        raise ConfigError("at least one proxy section is required by this stand-in")
    for name, s in sections.items():
        check_keys(s, {"type", "local_ip", "local_port", "remote_port"}, f"[{name}]")
        cfg["proxies"].append({
            "name": name,
            "type": check_type(s.get("type"), name),
            "local_ip": s.get("local_ip", "127.0.0.1"),
            "local_port": ini_port(s, "local_port", f"proxy {name}"),
            "remote_port": ini_port(s, "remote_port", f"proxy {name}", required=False,
                                    allow_zero=True),
        })
    return cfg


def load_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"open {path}: {e.strerror.lower()}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    if re.search(r"^\s*\[common\]\s*$", text, re.M):
        cfg = load_ini(text)
        cfg["legacy"] = True
    else:
        cfg = load_toml(text)
        cfg["legacy"] = False
    names = [p["name"] for p in cfg["proxies"]]
    if len(set(names)) != len(names):
        raise ConfigError("proxy names must be unique")
    return cfg


# ---------------------------------------------------------------------------------------------
# Running


def read_mode():
    text = os.environ.get("FAKE_FRPC_MODE", "ok")
    control = os.environ.get("FAKE_FRPC_CONTROL")
    if control and os.path.exists(control):
        with open(control, encoding="utf-8") as f:
            text = f.read().strip() or "ok"
    mode = {"ports_in_use": set()}
    for token in filter(None, (t.strip() for t in text.split(","))):
        key, _, value = token.partition("=")
        if key == "port_in_use":
            mode["ports_in_use"].update(int(p) for p in value.split("+"))
        elif key == "exit_after":
            seconds, _, code = value.partition(":")
            mode["exit_after"] = (float(seconds), int(code or 1))
        elif key == "slow_start":
            mode["slow_start"] = float(value)
        elif key in ("ok", "login_fail", "ignore_term"):
            mode[key] = True
        else:
            raise SystemExit(f"fake_frpc: unknown mode {token!r}")
    return mode


class State:
    def __init__(self, cfg, mode):
        self.cfg = cfg
        self.mode = mode
        self.started = datetime.datetime.now().timestamp()

    def statuses(self):
        waiting = datetime.datetime.now().timestamp() - self.started < self.mode.get("slow_start", 0)
        out = {}
        for p in self.cfg["proxies"]:
            entry = {"name": p["name"], "type": p["type"], "status": "running", "err": "",
                     "local_addr": f"{p['local_ip']}:{p['local_port']}", "plugin": "",
                     "remote_addr": f"{self.cfg['server_addr']}:{p['remote_port']}"}
            if p["remote_port"] in self.mode["ports_in_use"]:
                entry.update(status="start error", err="port already used", remote_addr="")
            elif waiting:
                entry.update(status="wait start", remote_addr="")
            out.setdefault(p["type"], []).append(entry)
        return out


def make_handler(state):
    expected = None
    if state.cfg["admin_user"] or state.cfg["admin_password"]:
        token = f"{state.cfg['admin_user']}:{state.cfg['admin_password']}".encode()
        expected = "Basic " + base64.b64encode(token).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if expected is not None and self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="Restricted"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path != "/api/status":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps(state.statuses()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def run(path):
    cfg = load_config(path)
    mode = read_mode()
    if cfg["legacy"]:
        print("WARNING: ini format is deprecated and the support will be removed in the future, "
              "please use yaml/json/toml format instead!", flush=True)
    record("start", argv=sys.argv[1:], config=path, mode=sorted(k for k in mode if mode[k]))
    log("I", "sub/root.go:142", f"start frpc service for config file [{path}]")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode.get("ignore_term")
                  else (lambda *_: stop.set()))
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    state = State(cfg, mode)
    try:
        server = ThreadingHTTPServer((cfg["admin_addr"], cfg["admin_port"]), make_handler(state))
    except OSError as e:
        print(f"listen tcp {cfg['admin_addr']}:{cfg['admin_port']}: bind: {e.strerror.lower()}",
              flush=True)
        record("exit", code=1, why="admin bind failed")
        return 1
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log("I", "client/service.go:178", f"admin server listen on {cfg['admin_addr']}:{cfg['admin_port']}")
    log("I", "client/service.go:295", "try to connect to server...")
    if mode.get("login_fail"):
        message = "token in login doesn't match token from configuration"
        log("W", "client/service.go:298", f"connect to server error: {message}")
        print(f"login to the server failed: {message}. With loginFailExit enabled, no additional "
              "retries will be attempted", flush=True)
        record("exit", code=1, why="login failed")
        return 1
    log("I", "client/control.go:168", "login to server success, get run id [fake0001]")
    for p in cfg["proxies"]:
        if p["remote_port"] in mode["ports_in_use"]:
            log("W", "client/control.go:171", f"[{p['name']}] start error: port already used")
        elif not mode.get("slow_start"):
            log("I", "client/control.go:173", f"[{p['name']}] start proxy success")
    exit_after = mode.get("exit_after")
    if stop.wait(exit_after[0] if exit_after else None):
        record("exit", code=0, why="SIGTERM")
        return 0
    log("E", "client/control.go:236", "connection to server closed: scripted failure")
    record("exit", code=exit_after[1], why="scripted exit")
    return exit_after[1]


def main(argv):
    args = list(argv)
    verify = bool(args) and args[0] == "verify"
    if verify:
        args = args[1:]
    if args in (["-v"], ["--version"]):
        print("0.61.0-edgelink-stand-in")
        return 0
    path = None
    i = 0
    while i < len(args):
        if args[i] in ("-c", "--config") and i + 1 < len(args):
            path = args[i + 1]
            i += 2
        elif args[i].startswith("--config="):
            path = args[i].split("=", 1)[1]
            i += 1
        else:
            print(f"Error: unknown flag: {args[i]}", flush=True)
            return 1
    if path is None:
        print("frpc: the configuration file is not specified", flush=True)
        return 1
    try:
        if verify:
            load_config(path)
            print(f"frpc: the configuration file {path} syntax is ok", flush=True)
            return 0
        return run(path)
    except ConfigError as e:
        print(e, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
