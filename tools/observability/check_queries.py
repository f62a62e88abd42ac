#!/usr/bin/env python3
"""Checks that the Grafana dashboard and the Prometheus alert rules query only metrics (and labels)
a real cloud-dispatcher exports.

    check_queries.py --metrics SCRAPE [--dashboard JSON]... [--rules YAML]...

SCRAPE is a dispatcher's /metrics output (Prometheus text format). Every edgelink_* name in a
query must be a family the scrape declares (# TYPE), histogram series (_bucket, _sum, _count) of a
declared histogram; every label a query selects or groups by must be one the scrape shows on that
family, or le / instance / job (a family with no sample yet, e.g. no session has ended, shows no
labels, so its labels go unchecked: scrape after some traffic). Exits 1 naming each unknown metric or label, 2 on bad input.
"""
import argparse
import json
import re
import sys

NAME = re.compile(r"\b(edgelink_[a-zA-Z0-9_]+)\b")
SELECTOR = re.compile(r"\b(edgelink_[a-zA-Z0-9_]+)\s*\{([^}]*)\}")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
LABEL_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
ALWAYS_LABELS = {"le", "instance", "job"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def parse_scrape(text):
    """Returns {family: (type, set of labels seen)}."""
    families = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                families.setdefault(parts[2], [parts[3], set()])[0] = parts[3]
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        if not m:
            continue
        name = m.group(1)
        family = name
        for suffix in HISTOGRAM_SUFFIXES:
            base = name[: -len(suffix)]
            if name.endswith(suffix) and families.get(base, ["", set()])[0] in ("histogram", "summary"):
                family = base
        labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", m.group(3) or ""))
        entry = families.setdefault(family, ["untyped", set()])
        entry[1].update(labels)
        if not sampled(entry):
            entry.append("sampled")  # once: the family has at least one sample
    return families


def sampled(entry):
    return len(entry) > 2


def family_of(name, families):
    if name in families:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and families.get(base, ["", set()])[0] in ("histogram", "summary"):
            return base
    return None


def check_expr(where, expr, families, problems):
    used = set()
    for name in NAME.findall(expr):
        family = family_of(name, families)
        if family is None:
            problems.append(f"{where}: '{name}' is not exported by the dispatcher")
        else:
            used.add(family)
    for name, matchers in SELECTOR.findall(expr):
        family = family_of(name, families)
        if family is None:
            continue
        for label in LABEL_MATCHER.findall(matchers):
            if sampled(families[family]) and label not in families[family][1] | ALWAYS_LABELS:
                problems.append(f"{where}: {name} has no label '{label}'")
    if any(not sampled(families[f]) for f in used):
        return len(NAME.findall(expr))  # an unsampled family's labels are unknown
    known = set().union(*(families[f][1] for f in used)) | ALWAYS_LABELS if used else ALWAYS_LABELS
    for group in GROUPING.findall(expr):
        for label in (l.strip() for l in group.split(",")):
            if label and label not in known:
                problems.append(f"{where}: groups by '{label}', which none of its metrics carries")
    return len(NAME.findall(expr))


def dashboard_exprs(path):
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    panels = list(dash.get("panels", []))
    while panels:
        panel = panels.pop(0)
        panels.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            if "expr" in target:
                yield f"{path}: panel '{panel.get('title')}' {target.get('refId')}", target["expr"]


def rule_exprs(path):
    # The rules file is YAML; its exprs are the only keys named expr, folded (>-) or plain.
    lines = open(path, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", lines[i])
        if not m:
            i += 1
            continue
        indent, rest = len(m.group(1)), m.group(2).strip()
        expr = [] if rest in (">-", ">", "|", "|-") else [rest]
        i += 1
        while not expr or rest in (">-", ">", "|", "|-"):
            if i >= len(lines) or (lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= indent):
                break
            expr.append(lines[i].strip())
            i += 1
        yield f"{path}: expr at line {i}", " ".join(expr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--dashboard", action="append", default=[])
    ap.add_argument("--rules", action="append", default=[])
    args = ap.parse_args()
    try:
        families = parse_scrape(open(args.metrics, encoding="utf-8").read())
        exprs = [e for p in args.dashboard for e in dashboard_exprs(p)]
        exprs += [e for p in args.rules for e in rule_exprs(p)]
    except (OSError, ValueError) as e:
        print(f"check_queries: {e}", file=sys.stderr)
        return 2
    if not any(f.startswith("edgelink_") for f in families):
        print(f"check_queries: {args.metrics} declares no edgelink_* metric", file=sys.stderr)
        return 2
    problems = []
    names = sum(check_expr(where, expr, families, problems) for where, expr in exprs)
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_queries: {len(exprs)} queries naming {names} metrics, all exported "
          f"({sum(1 for f in families if f.startswith('edgelink_'))} edgelink families in the scrape)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
