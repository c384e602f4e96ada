#!/usr/bin/env python3
"""Measures `aoscheck eval` against the CEL specification's conformance cases.

Usage: cel_conformance.py PATH/TO/aoscheck DIR [--verbose] [--json]

DIR holds the `.textproto` files of google/cel-spec's tests/simple/testdata
(they are not part of this repository: fetch them from the cel-spec
repository). Each test is an expression, optional variable bindings, and
the expected value or an expected evaluation error. A test is outside our
profile (docs/language.md, "CEL profile") when it needs protocol buffer
messages, bytes, a container, or an extension; those are counted apart, not
as failures. (A type environment only declares what the bindings give.)

A value is compared by kind and content: the JSON `aoscheck eval` prints for
`[type((E)), (E)]` against the expected value (ints, uints, doubles and
strings told apart by their type names; doubles compared numerically, NaN
equal to NaN). Durations and timestamps are compared with `==` against a
duration() or timestamp() of the expected value.

Prints one line per file (passed / failed / outside the profile) and the
total; --verbose prints each failure.
"""
import json
import math
import os
import re
import subprocess
import sys

# ---------------------------------------------------------------- textproto


class Tokens:
    """The tokens of a text-format protocol buffer message."""
    TOKEN = re.compile(r'''
        (?P<ws>\s+|\#[^\n]*)
      | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<name>\[[^\]]*\]|[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<num>-?(?:inf|nan|[0-9][0-9a-fA-FxX.eE+\-]*)[fFuU]?)
      | (?P<punct>[{}:<>,;\[\]])
    ''', re.X)

    def __init__(self, text):
        self.items = []
        pos = 0
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if not m:
                raise ValueError(f"cannot read textproto at {text[pos:pos + 40]!r}")
            pos = m.end()
            if m.lastgroup != "ws":
                self.items.append((m.lastgroup, m.group()))
        self.i = 0

    def peek(self):
        return self.items[self.i] if self.i < len(self.items) else (None, None)

    def next(self):
        t = self.peek()
        self.i += 1
        return t


def unescape(s):
    """A textproto string literal's bytes, as a str (UTF-8 decoded)."""
    body = s[1:-1]
    out = bytearray()
    i = 0
    simple = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, "'": 39, '"': 34, "?": 63}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = body[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e in "xX":
            m = re.match(r"[0-9a-fA-F]{1,2}", body[i + 2:])
            out.append(int(m.group(), 16))
            i += 2 + len(m.group())
        elif e in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            out.append(int(m.group(), 8))
            i += 1 + len(m.group())
        elif e == "u":
            out += chr(int(body[i + 2:i + 6], 16)).encode("utf-8", "surrogatepass")
            i += 6
        elif e == "U":
            out += chr(int(body[i + 2:i + 10], 16)).encode()
            i += 10
        else:
            out += body[i:i + 2].encode()
            i += 2
    return out.decode("utf-8", "replace")


def parse_message(tok, end=None):
    """A message as a list of (field, value) pairs; a value is a str, a
    number token or a nested list."""
    fields = []
    while True:
        kind, text = tok.peek()
        if kind is None or (kind == "punct" and text in ("}", ">")):
            tok.next()
            return fields
        kind, name = tok.next()
        kind, text = tok.peek()
        if kind == "punct" and text == ":":
            tok.next()
            kind, text = tok.peek()
        if kind == "punct" and text in ("{", "<"):
            tok.next()
            fields.append((name, parse_message(tok)))
        elif kind == "punct" and text == "[":  # a list of scalars
            tok.next()
            items = []
            while tok.peek()[1] != "]":
                k, t = tok.next()
                if t != ",":
                    items.append(t)
            tok.next()
            for it in items:
                fields.append((name, it))
        else:
            tok.next()
            value = text
            if kind == "str":  # adjacent strings concatenate
                value = unescape(text)
                while tok.peek()[0] == "str":
                    value += unescape(tok.next()[1])
            fields.append((name, value))
        if tok.peek()[1] in (",", ";"):
            tok.next()


def get(msg, name, default=None):
    for k, v in msg:
        if k == name:
            return v
    return default


def get_all(msg, name):
    return [v for k, v in msg if k == name]


# ---------------------------------------------------------------- values


class OutOfProfile(Exception):
    pass


def expected_value(v):
    """The expected value as (tag, python value); raises OutOfProfile."""
    (kind, x), = v if len(v) == 1 else [(None, None)]
    if kind == "int64_value":
        return ("int", int(x))
    if kind == "uint64_value":
        return ("uint", int(x.rstrip("uU")))
    if kind == "double_value":
        return ("double", float(x))  # float() reads inf, -inf and nan too
    if kind == "string_value":
        return ("string", x)
    if kind == "bool_value":
        return ("bool", x == "true")
    if kind == "null_value":
        return ("null_type", None)
    if kind == "type_value":
        return ("type", x)
    if kind == "list_value":
        return ("list", [expected_value(e) for e in get_all(x, "values")])
    if kind == "map_value":
        entries = []
        for e in get_all(x, "entries"):
            entries.append((expected_value(get(e, "key")), expected_value(get(e, "value"))))
        return ("map", entries)
    if kind == "object_value":
        (tname, body), = x
        seconds = int(get(body, "seconds", "0"))
        nanos = int(get(body, "nanos", "0"))
        if tname.endswith("google.protobuf.Duration]"):
            return ("duration", seconds * 10**9 + nanos)
        if tname.endswith("google.protobuf.Timestamp]"):
            return ("timestamp", seconds * 10**9 + nanos)
    raise OutOfProfile(f"expected value of kind {kind}")


def binding_json(v):
    """A binding as the JSON `aoscheck eval --input` reads; OutOfProfile
    when JSON cannot say it (uints, bytes, messages)."""
    tag, x = expected_value(v)
    if tag in ("int", "string", "bool"):
        return json.dumps(x)
    if tag == "double" and math.isfinite(x):
        return repr(float(x))
    if tag == "null_type":
        return "null"
    if tag in ("list", "map"):
        def plain(t):
            tg, val = t
            if tg in ("int", "double", "string", "bool"):
                return val
            if tg == "null_type":
                return None
            if tg == "list":
                return [plain(i) for i in val]
            if tg == "map":
                return {str(plain(k)): plain(w) for k, w in val}
            raise OutOfProfile("binding of " + tg)
        return json.dumps(plain((tag, x)))
    raise OutOfProfile("binding of " + tag)


def matches(tag_val, got):
    """Whether the JSON value `got` is the expected (tag, value)."""
    tag, x = tag_val
    if tag == "int" or tag == "uint":
        return isinstance(got, int) and not isinstance(got, bool) and got == x
    if tag == "double":
        if isinstance(got, str):
            return (got == "NaN" and math.isnan(x)) or (got == "Infinity" and x == math.inf) or \
                (got == "-Infinity" and x == -math.inf)
        if not isinstance(got, float):
            return False
        return got == x or (math.isnan(got) and math.isnan(x))
    if tag == "string":
        return got == x
    if tag == "bool":
        return got is x
    if tag == "null_type":
        return got is None
    if tag == "type":
        return got == x
    if tag == "list":
        return isinstance(got, list) and len(got) == len(x) and all(matches(e, g) for e, g in zip(x, got))
    if tag == "map":
        if not isinstance(got, dict) or len(got) != len(x):
            return False
        for k, w in x:
            key = json.dumps(k[1]) if k[0] == "bool" else str(k[1])
            if key not in got or not matches(w, got[key]):
                return False
        return True
    return False


TYPE_NAMES = {"int": "int", "uint": "uint", "double": "double", "string": "string", "bool": "bool",
              "null_type": "null_type", "type": "type", "list": "list", "map": "map"}

OUT_OF_PROFILE_EXPR = re.compile(
    r"""(?<![\w'"])[bB][rR]?["']|(?<![\w'"])[rR][bB]["']|\bbytes\(|google\.protobuf|TestAllTypes|NestedTestAllTypes|\.pb\b|proto[23]"""
    r"""|\boptional\.|\.\?|\?\.|\bcel\.|\bmath\.|\bstrings\.|\bbase64\.|\bsets\.|\bip\(|\bcidr\(|\bext\b""")


def run_test(aoscheck, t):
    """'pass', 'fail' or 'skip', and a detail."""
    expr = get(t, "expr")
    if expr is None:
        return "skip", "no expression"
    if get(t, "container") or get(t, "check_only") == "true":
        return "skip", "container or check only"
    if OUT_OF_PROFILE_EXPR.search(expr):
        return "skip", "protocol buffers, bytes or an extension"
    inputs = []
    try:
        for b in get_all(t, "bindings"):
            name = get(b, "key")
            if "." in name:
                raise OutOfProfile("a qualified name (namespaces)")
            inputs += ["--input", f"{name}={binding_json(get(get(b, 'value'), 'value'))}"]
        value = get(t, "value")
        want = expected_value(value) if value is not None else None
    except OutOfProfile as e:
        return "skip", str(e)
    want_error = get(t, "eval_error") is not None
    if value is None and not want_error:
        if get(t, "typed_result") is not None or get(t, "any_eval_errors") is not None:
            return "skip", "typed_result or alternative errors"
        want = ("bool", True)  # CEL's default expectation
    if want and want[0] in ("duration", "timestamp"):
        # Whole nanoseconds, so that no float formatting gets in the way.
        if want[0] == "duration":
            sign = "-" if want[1] < 0 else ""
            probe = f"({expr}) == duration('{sign}{abs(want[1])}ns')"
        else:
            probe = f"({expr}) == timestamp({want[1] // 10**9}) + duration('{want[1] % 10**9}ns')"
        want = ("bool", True)
        expr_to_run = f"[type({probe}), {probe}]"
    else:
        expr_to_run = f"[type(({expr})), ({expr})]"
    p = subprocess.run([aoscheck, "eval", *inputs, "--", expr_to_run], capture_output=True, text=True, timeout=30)
    if want_error:
        # An evaluation error (exit 1); a syntax error (65) is not one.
        if p.returncode == 1:
            return "pass", ""
        return "fail", f"want an evaluation error, got exit {p.returncode}: {(p.stdout + p.stderr).strip()[:200]}"
    if p.returncode != 0:
        return "fail", "error: " + (p.stderr.strip().splitlines() or ["?"])[0]
    got = json.loads(p.stdout)
    type_ok = got[0] == TYPE_NAMES.get(want[0], got[0])
    if type_ok and matches(want, got[1]):
        return "pass", ""
    return "fail", f"want {want}, got {json.dumps(got)}"


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 64
    aoscheck, folder = os.path.abspath(sys.argv[1]), sys.argv[2]
    verbose = "--verbose" in sys.argv
    totals = {"pass": 0, "fail": 0, "skip": 0}
    per_file = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".textproto"):
            continue
        msg = parse_message(Tokens(open(os.path.join(folder, name), encoding="utf-8").read()))
        counts = {"pass": 0, "fail": 0, "skip": 0}
        for section in get_all(msg, "section"):
            for t in get_all(section, "test"):
                result, detail = run_test(aoscheck, t)
                counts[result] += 1
                if verbose and result == "fail":
                    print(f"  FAIL {name} {get(section, 'name')}/{get(t, 'name')}: {get(t, 'expr')!r}: {detail}")
        per_file[name] = counts
        for k in totals:
            totals[k] += counts[k]
        print(f"{name:28} {counts['pass']:4} passed {counts['fail']:4} failed {counts['skip']:4} outside the profile")
    ran = totals["pass"] + totals["fail"]
    print(f"{'total':28} {totals['pass']:4} passed {totals['fail']:4} failed {totals['skip']:4} outside the profile"
          f"  ({100.0 * totals['pass'] / max(ran, 1):.1f}% of the profile)")
    if "--json" in sys.argv:
        print(json.dumps({"files": per_file, "total": totals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
