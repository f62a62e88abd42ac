#!/usr/bin/env python3
"""A stand-in for frp's client (frpc) in EdgeLink's tests: fast runs, and failures real frp
cannot easily be pushed into. Held to real frpc v0.70.1 by tests/integration/frp/stand_in_test.cpp
(same exit codes for the same configs, same /api/status shape and status words).

Invoked exactly as the edge agent invokes frpc:

    fake_frpc.py -c FILE            run: check the config, serve the admin API, stay up
    fake_frpc.py verify -c FILE     check the config only (exit 0 / 1 like `frpc verify`)

The config is checked as frpc does (frp v0.52+ TOML strictly, or the legacy INI leniently when
it has a [common] section, as frp decides); anything wrong exits 1 with frp's message. Running,
it serves GET /api/status on the configured admin address (webServer.port / admin_port; none
when 0) with HTTP basic auth and frpc's JSON shape (a map from proxy type to a list of {name,
type, status, err, local_addr, plugin, remote_addr}; `{}` until it has "logged in"), and stays
up until SIGTERM or SIGINT, by which it dies as real frpc does (killed by the signal).

Failure modes, scripted by the test through the environment (inherited from the agent):
  FAKE_FRPC_MODE     comma-separated: ok | login_fail (frp's message, exit 1)
                     | port_in_use=PORT[+PORT...] | port_not_allowed=PORT[+...]
                     | port_unavailable=PORT[+...] (those proxies in "start error" with frps's
                       "port already used" / "port not allowed" / "port unavailable")
                     | exit_after=SECONDS[:CODE] | slow_start=SECONDS (proxies "wait start":
                       frps slow to answer) | login_delay=SECONDS (no proxies reported: frps
                       slow or away) | ignore_term
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
import time
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
# Config checking, as real frpc v0.70.1 does it (tests/integration/frp/stand_in_test.cpp holds
# the two to the same exit codes): TOML is decoded strictly (unknown fields and wrong types are
# errors, with frp's messages), the legacy INI leniently (go-ini: unknown keys and unparsable
# numbers are ignored). Stand-in limits, refused rather than imitated: proxy types other than tcp,
# TOML keys outside the set below, Go templates ("{{") and go-ini's %(name)s references.

PROXY_TYPES = ("tcp", "udp", "http", "https", "stcp", "xtcp", "sudp", "tcpmux")
JSON_KINDS = {str: "string", bool: "bool", int: "number", float: "number", list: "array",
              dict: "object"}


def json_kind(value):
    return JSON_KINDS.get(type(value), "object")


def typed(value, kind, field, default, proxy_index=None):
    """A TOML value of Go type `kind` (int, string, bool), or frp's unmarshal error."""
    if value is None:
        return default
    ok = {"int": isinstance(value, int) and not isinstance(value, bool),
          "string": isinstance(value, str),
          "bool": isinstance(value, bool)}[kind]
    if not ok:
        if proxy_index is not None:
            raise ConfigError(f"decode proxy at index {proxy_index}: unmarshal ProxyConfig error: "
                              f"json: cannot unmarshal {json_kind(value)} into Go struct field "
                              f"TCPProxyConfig.{field} of type {kind}")
        raise ConfigError(f'field "ClientCommonConfig.{field}": cannot unmarshal '
                          f"{json_kind(value)} into {kind}")
    if kind == "string" and "{{" in value:
        raise ConfigError(f"{field}: template: the stand-in does not render Go templates")
    return value


def check_range(value, field):
    if value < 0 or value > 65535:
        raise ConfigError(f"{field}: port number {value} must be in the range 0..65535")
    return value


def check_keys(table, allowed, where, proxy_index=None):
    for key in table:
        if key not in allowed:
            if proxy_index is not None:
                raise ConfigError(f"decode proxy at index {proxy_index}: unmarshal ProxyConfig "
                                  f'error: json: unknown field "{key}"')
            raise ConfigError(f'json: unknown field "{key}"')


def metadatas(value, where, proxy_index=None):
    """frp's `metadatas`: a table of strings (map[string]string)."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        prefix = f"decode proxy at index {proxy_index}: " if proxy_index is not None else ""
        raise ConfigError(f'{prefix}field "{where}metadatas": cannot unmarshal into '
                          "map[string]string")
    return dict(value)


def ini_metas(section):
    """go-ini's meta_* keys (frp's legacy INI): the metadata without the prefix."""
    return {k[len("meta_"):]: v for k, v in section.items() if k.startswith("meta_")}


def table(doc, key):
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f'field "ClientCommonConfig.{key}": cannot unmarshal '
                          f"{json_kind(value)} into object")
    return value


def load_toml(text):
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"toml: {e}") from None
    check_keys(doc, {"serverAddr", "serverPort", "loginFailExit", "auth", "webServer", "log",
                     "user", "transport", "metadatas", "proxies"}, "")
    cfg = {
        "server_addr": typed(doc.get("serverAddr"), "string", "serverAddr", "0.0.0.0"),
        "server_port": typed(doc.get("serverPort"), "int", "serverPort", 7000),
        "login_fail_exit": typed(doc.get("loginFailExit"), "bool", "loginFailExit", True),
        "user": typed(doc.get("user"), "string", "user", ""),
        "metas": metadatas(doc.get("metadatas", {}), ""),
    }
    auth = table(doc, "auth")
    check_keys(auth, {"method", "token"}, "auth")
    if typed(auth.get("method"), "string", "auth.method", "token") not in ("token", "oidc"):
        raise ConfigError("invalid auth method, optional values are [token oidc]")
    cfg["token"] = typed(auth.get("token"), "string", "auth.token", "")
    web = table(doc, "webServer")
    check_keys(web, {"addr", "port", "user", "password"}, "webServer")
    cfg["admin_addr"] = typed(web.get("addr"), "string", "webServer.addr", "127.0.0.1")
    cfg["admin_port"] = check_range(typed(web.get("port"), "int", "webServer.port", 0),
                                    "webServer.port")
    cfg["admin_user"] = typed(web.get("user"), "string", "webServer.user", "")
    cfg["admin_password"] = typed(web.get("password"), "string", "webServer.password", "")
    transport = table(doc, "transport")
    check_keys(transport, {"tls"}, "transport")
    tls = transport.get("tls", {})
    if not isinstance(tls, dict):
        raise ConfigError('field "ClientCommonConfig.transport.tls": cannot unmarshal '
                          f"{json_kind(tls)} into object")
    check_keys(tls, {"enable", "trustedCaFile", "serverName"}, "transport.tls")
    cfg["tls"] = typed(tls.get("enable"), "bool", "transport.tls.enable", True)
    logcfg = table(doc, "log")
    check_keys(logcfg, {"to", "level", "maxDays", "disablePrintColor"}, "log")
    typed(logcfg.get("to"), "string", "log.to", "")
    typed(logcfg.get("maxDays"), "int", "log.maxDays", 3)
    typed(logcfg.get("disablePrintColor"), "bool", "log.disablePrintColor", False)
    if typed(logcfg.get("level"), "string", "log.level", "info") not in \
            ("trace", "debug", "info", "warn", "error"):
        raise ConfigError("invalid log level, optional values are [trace debug info warn error]")
    proxies = doc.get("proxies", [])
    if not isinstance(proxies, list):
        raise ConfigError(f'field "ClientCommonConfig.proxies": cannot unmarshal '
                          f"{json_kind(proxies)} into array")
    cfg["proxies"] = []
    for i, p in enumerate(proxies):
        if not isinstance(p, dict):
            raise ConfigError(f"decode proxy at index {i}: expected a table")
        kind = p.get("type")
        if kind not in PROXY_TYPES:
            raise ConfigError(f"decode proxy at index {i}: unknown proxy type: "
                              f"{kind if isinstance(kind, str) else ''}")
        if kind not in ("tcp", "stcp"):
            raise ConfigError(f"proxy at index {i}: type {kind}: the stand-in runs tcp and stcp only")
        check_keys(p, {"name", "type", "localIP", "localPort", "remotePort", "secretKey",
                       "allowUsers", "metadatas"}, "", i)
        name = typed(p.get("name"), "string", "ProxyBaseConfig.name", "", i)
        local_ip = typed(p.get("localIP"), "string", "ProxyBaseConfig.ProxyBackend.localIP",
                         "127.0.0.1", i)
        local_port = typed(p.get("localPort"), "int", "ProxyBaseConfig.ProxyBackend.localPort",
                           0, i)
        remote_port = typed(p.get("remotePort"), "int", "remotePort", 0, i)
        cfg["proxies"].append({"name": name, "type": kind, "local_ip": local_ip,
                               "local_port": local_port, "remote_port": remote_port,
                               "metas": metadatas(p.get("metadatas", {}), "", i)})
    return cfg


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
    """Sections in order; a section given twice is one (go-ini merges them, later keys win)."""
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
            sections.setdefault(current, {})
            continue
        m = re.match(r"([^=:]+)[=:](.*)$", line.rstrip("\r"))
        if m is None or current is None:
            raise ConfigError(f"key-value delimiter not found: {line.strip()}")
        key = m.group(1).strip()
        value = ini_value(m.group(2))
        if "%(" in value:
            raise ConfigError(f"line {number}: the stand-in does not expand go-ini's %(name)s "
                              f"references (value of {key})")
        if "{{" in value:
            raise ConfigError(f"line {number}: the stand-in does not render Go templates")
        sections[current][key] = value
    return sections


def ini_int(section, key, default):
    """go-ini's MapTo: an unparsable number leaves the default (no error)."""
    try:
        return int(section[key]) if key in section else default
    except ValueError:
        return default


def ini_bool(section, key, default):
    value = section.get(key, "").lower()
    if value in ("true", "1", "yes", "on", "t"):
        return True
    if value in ("false", "0", "no", "off", "f"):
        return False
    return default


def load_ini(text):
    sections = parse_ini(text)
    common = sections.pop("common")
    cfg = {
        "server_addr": common.get("server_addr", "0.0.0.0"),
        "server_port": ini_int(common, "server_port", 7000),
        "login_fail_exit": ini_bool(common, "login_fail_exit", True),
        "user": common.get("user", ""),
        "token": common.get("token", ""),
        "admin_addr": common.get("admin_addr", "127.0.0.1"),
        "admin_port": ini_int(common, "admin_port", 0),
        "admin_user": common.get("admin_user", ""),
        "admin_password": common.get("admin_pwd", ""),
        "tls": ini_bool(common, "tls_enable", True),
        "metas": ini_metas(common),
        "proxies": [],
    }
    if common.get("authentication_method", "token") not in ("token", "oidc"):
        raise ConfigError("invalid authentication method, optional values are [token oidc]")
    check_range(cfg["admin_port"], "webServer.port")
    for name, s in sections.items():
        kind = s.get("type", "tcp")
        if kind not in PROXY_TYPES:
            raise ConfigError(f"failed to parse proxy {name}, err: invalid type [{kind}]")
        if kind not in ("tcp", "stcp"):
            raise ConfigError(f"proxy {name}: type {kind}: the stand-in runs tcp and stcp only")
        cfg["proxies"].append({
            "name": name,
            "type": kind,
            "local_ip": s.get("local_ip", "127.0.0.1"),
            "local_port": ini_int(s, "local_port", 0),
            "remote_port": ini_int(s, "remote_port", 0),
            "metas": ini_metas(s),
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
    seen = set()
    for p in cfg["proxies"]:
        if not p["name"]:
            raise ConfigError("proxy : name should not be empty")
        if p["name"] in seen:
            raise ConfigError(f"proxy name [{p['name']}] is duplicated")
        seen.add(p["name"])
        check_range(p["local_port"], f"proxy {p['name']}: localPort: localPort")
    return cfg


# ---------------------------------------------------------------------------------------------
# Running


START_ERRORS = {"port_in_use": "port already used", "port_not_allowed": "port not allowed",
                "port_unavailable": "port unavailable"}


def read_mode():
    text = os.environ.get("FAKE_FRPC_MODE", "ok")
    control = os.environ.get("FAKE_FRPC_CONTROL")
    if control and os.path.exists(control):
        with open(control, encoding="utf-8") as f:
            text = f.read().strip() or "ok"
    mode = {"start_errors": {}}
    for token in filter(None, (t.strip() for t in text.split(","))):
        key, _, value = token.partition("=")
        if key in START_ERRORS:
            mode["start_errors"].update((int(p), START_ERRORS[key]) for p in value.split("+"))
        elif key == "exit_after":
            seconds, _, code = value.partition(":")
            mode["exit_after"] = (float(seconds), int(code or 1))
        elif key in ("slow_start", "login_delay"):
            mode[key] = float(value)
        elif key in ("ok", "login_fail", "ignore_term"):
            mode[key] = True
        else:
            raise SystemExit(f"fake_frpc: unknown mode {token!r}")
    return mode


class State:
    def __init__(self, cfg, mode):
        self.cfg = cfg
        self.mode = mode
        self.logged_in = threading.Event()
        self.started = None

    def statuses(self):
        # Like real frpc: no proxies at all until it has logged in to frps (also while it
        # reconnects), then each proxy's status; "wait start" while frps has not answered yet.
        if not self.logged_in.is_set():
            return {}
        waiting = time.monotonic() - self.started < self.mode.get("slow_start", 0)
        out = {}
        for p in self.cfg["proxies"]:
            entry = {"name": p["name"], "type": p["type"], "status": "running", "err": "",
                     "local_addr": f"{p['local_ip']}:{p['local_port']}", "plugin": "",
                     "remote_addr": f"{self.cfg['server_addr']}:{p['remote_port']}"}
            err = self.mode["start_errors"].get(p["remote_port"])
            if err:
                entry.update(status="start error", err=err, remote_addr="")
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

        def reply(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            log("I", "http/middleware.go:38", f"http response [{self.path}]: code [{code}]")

        def do_GET(self):
            # Real frpc logs every admin API request, at info level.
            log("I", "http/middleware.go:35", f"http request: [{self.path}]")
            if expected is not None and self.headers.get("Authorization") != expected:
                self.reply(401, headers=[("WWW-Authenticate", 'Basic realm="Restricted"')])
                return
            if self.path != "/api/status":
                self.reply(404)
                return
            self.reply(200, json.dumps(state.statuses(), separators=(",", ":")).encode(),
                       [("Content-Type", "application/json")])

    return Handler


def die_by(signum):
    """Real frpc (tcp transport) has no handler for SIGTERM/SIGINT: it dies by the signal."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    time.sleep(10)
    return 128 + signum


def run(path):
    cfg = load_config(path)
    mode = read_mode()
    if cfg["legacy"]:
        print("WARNING: ini format is deprecated and the support will be removed in the future, "
              "please use yaml/json/toml format instead!", flush=True)
    record("start", argv=sys.argv[1:], config=path, mode=sorted(k for k in mode if mode[k]))
    log("I", "sub/root.go:201",
        f"start frpc service for config file [{path}] with aggregated configuration")
    stop = threading.Event()
    got = []

    def on_signal(signum, _frame):
        got.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode.get("ignore_term") else on_signal)
    signal.signal(signal.SIGINT, on_signal)
    state = State(cfg, mode)
    if cfg["admin_port"]:
        try:
            server = ThreadingHTTPServer((cfg["admin_addr"], cfg["admin_port"]),
                                         make_handler(state))
        except OSError as e:
            print(f"listen tcp {cfg['admin_addr']}:{cfg['admin_port']}: bind: "
                  f"{e.strerror.lower()}", flush=True)
            record("exit", code=1, why="admin bind failed")
            return 1
        threading.Thread(target=server.serve_forever, daemon=True).start()
        log("I", "client/service.go:253",
            f"admin server listen on {cfg['admin_addr']}:{cfg['admin_port']}")
    log("I", "client/service.go:311", "try to connect to server...")
    if stop.wait(mode.get("login_delay", 0)):
        record("exit", code=128 + got[0], why="signal")
        return die_by(got[0])
    if mode.get("login_fail"):
        message = "token in login doesn't match token from configuration"
        log("W", "client/service.go:322", f"connect to server error: {message}")
        log("I", "sub/root.go:218", f"frpc service for config file [{path}] stopped")
        print(f"login to the server failed: {message}. With loginFailExit enabled, no additional "
              "retries will be attempted", flush=True)
        record("exit", code=1, why="login failed")
        return 1
    run_id = "fa4e0000f4e00001"
    log("I", "client/service.go:331",
        f"[{run_id}] login to server success, get run id [{run_id}]")
    log("I", "proxy/proxy_manager.go:180",
        f"[{run_id}] proxy added: [{' '.join(p['name'] for p in cfg['proxies'])}]")
    state.started = time.monotonic()
    state.logged_in.set()
    for p in cfg["proxies"]:
        err = mode["start_errors"].get(p["remote_port"])
        if err:
            log("W", "client/control.go:163", f"[{run_id}] [{p['name']}] start error: {err}")
        elif not mode.get("slow_start"):
            log("I", "client/control.go:165", f"[{run_id}] [{p['name']}] start proxy success")
    exit_after = mode.get("exit_after")
    if stop.wait(exit_after[0] if exit_after else None):
        record("exit", code=128 + got[0], why="signal")
        return die_by(got[0])
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
        path = "./frpc.ini"  # frpc's default
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
