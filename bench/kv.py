"""bench/kv.py: the key=value lines that the bench drivers print."""


def parse_kv(text, prefix=None):
    """The last key=value line of a driver's stdout (the last one starting
    with prefix, when given), numbers as floats, the rest as strings."""
    lines = [l for l in text.splitlines() if "=" in l and (prefix is None or l.startswith(prefix))]
    if not lines:
        raise ValueError("no key=value line%s in driver output: %r"
                         % ("" if prefix is None else " starting %r" % prefix, text[-300:]))
    d = {}
    for tok in lines[-1].split():
        k, _, v = tok.partition("=")
        try:
            d[k] = float(v)
        except ValueError:
            d[k] = v
    return d
