"""The Python tables of the format match the C header, format/ifg.h: op
codes (IFG_OP_*), attribute keys (IFG_ATTR_*), activations (IFG_ACT_*),
dtypes (IFG_F32 ...) and dimension symbols (IFG_SYM_*) against
converter/ifg.py's OPS, ATTRS, ACT_*, DT_*, SYM_*; every op has a signature
in converter/inspect.py's OP_SIGS, every attribute a rule in _ATTR_RULES,
and tests/ifg_reference.py's execute() handles every op. A failure names
the missing or mismatched entry."""

import os
import re
import subprocess

import numpy as np
import pytest

import ifg_reference
from converter import ifg, inspect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "format", "ifg.h")


def header_text():
    with open(HEADER) as f:
        return re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)


def header_enum(prefix, exclude=()):
    """{NAME: value} of the `IFG_<prefix>NAME = value` enumerators of ifg.h
    (sentinels such as IFG_OP_COUNT_, names ending in "_", left out)."""
    found = {m.group(1): int(m.group(2))
             for m in re.finditer(rf"\bIFG_{prefix}(\w+)\s*=\s*(\d+)", header_text())}
    found = {k: v for k, v in found.items() if k not in exclude and not k.endswith("_")}
    assert found, f"no IFG_{prefix}* enumerators in {HEADER}"
    return found


def compare(what, c, py):
    errors = [f"{what} {k}: ifg.h has {c[k]}, Python {py[k]}" for k in sorted(c.keys() & py.keys())
              if c[k] != py[k]]
    errors += [f"{what} {k}: in ifg.h (= {c[k]}), missing in Python" for k in sorted(c.keys() - py.keys())]
    errors += [f"{what} {k}: in Python (= {py[k]}), missing in ifg.h" for k in sorted(py.keys() - c.keys())]
    assert not errors, "\n".join(errors)


def module_constants(mod, prefix):
    return {k[len(prefix):]: v for k, v in vars(mod).items()
            if k.startswith(prefix) and k[len(prefix):].isupper() and isinstance(v, int)}


def header_ops():
    """The op codes of ifg.h: its IFG_OP_LIST X-macro, X(NAME, CODE, name),
    and any IFG_OP_NAME = CODE enumerator."""
    text = header_text()
    m = re.search(r"#define\s+IFG_OP_LIST\(X\)((?:.*\\\n)*.*)", text)
    ops = {}
    if m:
        ops = {n: int(c) for n, c in re.findall(r"X\(\s*(\w+)\s*,\s*(\d+)\s*,", m.group(1))}
    ops.update({k: v for k, v in ((m2.group(1), int(m2.group(2))) for m2 in
                re.finditer(r"\bIFG_OP_(\w+)\s*=\s*(\d+)", text)) if not k.endswith("_")})
    assert ops, f"no operators found in {HEADER} (IFG_OP_LIST or IFG_OP_* enumerators)"
    return ops


def test_ops_match_header():
    c = header_ops()
    compare("op", c, ifg.OPS)
    compare("op name", {v: k for k, v in c.items()}, ifg.OP_NAMES)


def header_attrs():
    """The attributes of ifg.h's IFG_ATTR_LIST X-macro:
    {NAME: (key, type name, count, range name)}."""
    m = re.search(r"#define\s+IFG_ATTR_LIST\(X\)((?:.*\\\n)*.*)", header_text())
    assert m, f"no IFG_ATTR_LIST in {HEADER}"
    rows = re.findall(r"X\(\s*(\w+)\s*,\s*(\d+)\s*,\s*(\w+)\s*,\s*(\d+)\s*,\s*(\w+)\s*\)", m.group(1))
    assert rows, f"IFG_ATTR_LIST in {HEADER} has no X(NAME, KEY, TYPE, COUNT, RANGE) rows"
    return {n: (int(k), t, int(c), r) for n, k, t, c, r in rows}


def test_attrs_match_header():
    c = header_attrs()
    types = header_enum("ATTR_")   # IFG_ATTR_INT/FLOAT: the value types
    compare("attribute value type", types, {"INT": ifg.ATTR_INT, "FLOAT": ifg.ATTR_FLOAT})
    compare("attribute", {k: v[0] for k, v in c.items()}, {k: v[0] for k, v in ifg.ATTRS.items()})
    compare("attribute (key, type, count, range)",
            {k: (key, types[t], n, r) for k, (key, t, n, r) in c.items()}, ifg.ATTR_TABLE)
    ranges = set(re.findall(r"\bIFG_RANGE_(\w+)\s*=", header_text()))
    bad = [f"attribute {k}: range {r} is not one of ifg.h's IFG_RANGE_* {sorted(ranges)}"
           for k, (_, _, _, r) in ifg.ATTR_TABLE.items() if r not in ranges]
    bad += [f"range {r} of ifg.h has no check in converter/inspect.py _RANGE_OK"
            for r in sorted(ranges - inspect._RANGE_OK.keys())]
    assert not bad, "\n".join(bad)
    bad = [f"attribute {k}: ATTRS says type {t}, not ATTR_INT/ATTR_FLOAT"
           for k, (_, t) in ifg.ATTRS.items() if t not in (ifg.ATTR_INT, ifg.ATTR_FLOAT)]
    assert not bad, "\n".join(bad)


def test_acts_match_header():
    compare("activation", header_enum("ACT_"), module_constants(ifg, "ACT_"))


def test_dtypes_match_header():
    c = {k: v for k, v in header_enum("").items() if re.fullmatch(r"(F|U|I)\d+", k)}
    compare("dtype", c, module_constants(ifg, "DT_"))
    compare("dtype size", {k: {"F32": 4, "F16": 2, "U8": 1, "I32": 4}[k] for k in c},
            {ifg.DTYPE_NAMES[v].upper(): inspect.DTYPE_SIZE[v] for v in ifg.DTYPE_NAMES})
    for name, code in c.items():
        assert np.dtype(ifg.DTYPE_NP[code]).name == {"F32": "float32", "F16": "float16",
                                                      "U8": "uint8", "I32": "int32"}[name], name


def test_syms_match_header():
    compare("dimension symbol", header_enum("SYM_"), module_constants(ifg, "SYM_"))


def test_inspect_has_every_op_and_attr():
    missing = [f"op {op} has no signature in converter/inspect.py OP_SIGS"
               for op in ifg.OPS if op not in inspect.OP_SIGS]
    missing += [f"OP_SIGS has {op}, which converter/ifg.py OPS does not"
                for op in inspect.OP_SIGS if op not in ifg.OPS]
    missing += [f"attribute {a} has no rule in converter/inspect.py _ATTR_RULES"
                for a in ifg.ATTRS if a not in inspect._ATTR_RULES]
    missing += [f"_ATTR_RULES has {a}, which converter/ifg.py ATTRS does not"
                for a in inspect._ATTR_RULES if a not in ifg.ATTRS]
    for op, sig in inspect.OP_SIGS.items():
        for a in sig.required + sig.allowed:
            if a not in ifg.ATTRS:
                missing.append(f"OP_SIGS[{op}] names attribute {a}, not in converter/ifg.py ATTRS")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("op", list(ifg.OPS))
def test_reference_handles_op(op):
    """execute() knows the op: called with no operands it may fail on them
    (IndexError, KeyError, ...), but never with its 'unknown op' error."""
    try:
        ifg_reference.execute(op, [np.zeros((1, 1, 1))] * 3, {})
    except ifg_reference.ReferenceError as e:
        assert "unknown op" not in str(e), f"op {op} is not handled by tests/ifg_reference.py execute()"
    except Exception:
        pass   # it got past the dispatch to the op's own code


def test_reference_rejects_unknown_op():
    """The check above means something: an unknown op does raise 'unknown op'."""
    with pytest.raises(ifg_reference.ReferenceError, match="unknown op"):
        ifg_reference.execute("NO_SUCH_OP", [np.zeros((1, 1, 1))], {})


# Inputs the Python reader requires to be CONST and the C reader does not:
# the converter always writes these as weights, and inspect.py checks what
# the converter writes; the C reader takes any f32 tensor there.
PYTHON_ONLY_CONST = {"VIT_ATTENTION": {1}, "TOKENS_FROM_GRID": {1, 2}, "REF_EMBED": {1}}


def c_op_signatures():
    """The C reader's operand rules, from `if-inspect --ops` of the build."""
    tool = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"), "if-inspect")
    if not os.access(tool, os.X_OK):
        pytest.skip(f"{tool} not built (make tools)")
    out = subprocess.run([tool, "--ops"], capture_output=True, text=True, check=True).stdout
    sigs = {}
    for line in out.splitlines():
        m = re.fullmatch(r"(\d+) (\w+) in=(\d+)\.\.(\d+) const=([\d,]*) required=([\w,]*) "
                         r"optional=([\w,]*)", line)
        assert m, f"if-inspect --ops printed {line!r}"
        split = lambda s: set(s.split(",")) - {""}
        sigs[m.group(2)] = (int(m.group(1)), int(m.group(3)), int(m.group(4)),
                            {int(i) for i in split(m.group(5))}, split(m.group(6)),
                            split(m.group(7)))
    return sigs


def test_python_signatures_match_the_c_reader():
    c = c_op_signatures()
    errors = [f"op {op}: the C reader has no rule (if-inspect --ops)" for op in ifg.OPS if op not in c]
    for op, (code, lo, hi, const, req, opt) in sorted(c.items()):
        sig = ifg.OP_SIGS.get(op)
        if sig is None:
            errors.append(f"op {op}: in the C reader, not in converter/ifg.py OP_TABLE")
            continue
        py = (ifg.OPS[op], *sig.n_in, set(sig.const) - PYTHON_ONLY_CONST.get(op, set()),
              set(sig.required), set(sig.allowed))
        for what, a, b in zip(("code", "min inputs", "max inputs", "CONST inputs",
                               "required attributes", "optional attributes"),
                              (code, lo, hi, const, req, opt), py):
            if a != b:
                errors.append(f"op {op}: {what}: C reader {a}, converter/ifg.py {b}")
        if set(sig.optional) != set(range(lo, hi)) and op not in ("CONCAT_CHANNELS", "CONCAT_TOKENS"):
            errors.append(f"op {op}: optional inputs {sorted(sig.optional)}, "
                          f"the C reader's are {list(range(lo, hi))}")
    assert not errors, "\n".join(errors)
