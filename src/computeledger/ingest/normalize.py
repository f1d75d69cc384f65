"""FOCUS rows as read (all text) to typed ledger rows, as one Ibis expression.

Every rule is an Ibis expression, so the same checks run on any backend. A rule
either *quarantines* the row (the ledger cannot use it: an unparseable value, a
value FOCUS does not allow, a missing value the ledger needs) or *flags* it (a
normalisation was applied, or FOCUS is not followed in a way that leaves the
money usable). Flags are kept on the row in `x_quality_flags`; reasons name the
column and the value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from computeledger.portable import is_json_object, json_object_text, re_replace, strip
from computeledger.schema.focus import BY_NAME, COLUMNS, LEGACY_VALUES, Kind
from computeledger.schema.tables import CHARGES, NUMBER, NUMBER_INTEGER_DIGITS, NUMBER_SCALE

ROW = "__row"
ROWS_PER_INGEST = 10_000_000_000  # x_charge_id = ingest_id * this + row: rows stay below it
#: Set on the rows of files staged together (one rules pass for many files): the file's
#: place in its group and its path. Carried through the rules like ROW, never extensions.
FILE = "__file"
PATH = "__path"
CARRIED = (ROW, FILE, PATH)
REASON = "__reason"
RAW = "__raw"
_T, _P, _V, _F = "__t_", "__p_", "__v_", "__f_"  # layer column prefixes

_NULL_STR = ibis.null(dt.string)
_ISO_DATE = r"^\s*\d{4}-\d{1,2}-\d{1,2}"
#: The whole of an ISO 8601 timestamp the ledger reads: a date of the years 1970 to 9999, a
#: time, fractions, and a zone only as Z, UTC, GMT or a numeric offset within -14:00..+14:00.
#: A named zone ("PST") is no zone we can convert exactly per row (engines resolve names
#: through the session), so it is refused.
_ISO_WHOLE = (
    r"^\s*(19[7-9]\d|[2-9]\d{3})-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
    r"\s*([Zz]|UTC|GMT|[+-](0\d|1[0-4])(:?[0-5]\d)?)?\s*$"
)
_UTC_WORD = r"\s*(UTC|GMT)\s*$"
_US_DATE = r"^\s*\d{1,2}/\d{1,2}/(\d{4}|\d{2})(\s+\d{1,2}:\d{2}(:\d{2})?)?\s*$"
_NUMBER_TEXT = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_SHOWN = 60  # characters of a bad value shown in a reason


def _shown(value: ir.StringValue) -> ir.StringValue:
    """A value quoted for a message, cut to a readable length."""
    cut = ibis.ifelse(value.length() > _SHOWN, value.substr(0, _SHOWN) + "...", value)
    return "'" + cut + "'"


def _problem(cond: ir.BooleanValue, message: ir.StringValue | str) -> ir.StringValue:
    return ibis.ifelse(cond, message, _NULL_STR)


def nullish(raw: ir.StringValue) -> tuple[ir.StringValue, ir.BooleanValue, ir.BooleanValue]:
    """Blank strings and the literal NULL are nulls (FOCUS forbids placeholders). Only
    short values, or values starting with white space, can be either: the rest pass as is."""
    suspect = (raw.length() <= 4) | raw.startswith(" ") | raw.startswith("\t")
    blank = ibis.ifelse(suspect, strip(raw) == "", False)
    literal = ibis.ifelse(raw.length() == 4, raw.upper() == "NULL", False)
    value = ibis.ifelse(suspect & (blank | literal), _NULL_STR, raw)
    return value, literal, blank


_FAST = dt.Decimal(18, 10)  # 64-bit decimals parse ~100x faster than 128-bit ones
_FAST_INT, _FAST_FRAC = 18 - 10, 10
_E_PARTS = r"^\s*([+-]?)(\d*)\.?(\d*)[eE]([+-]?\d+)\s*$"
E_LIMIT = 400  # the largest exponent read; beyond, only digits of zero could fit the ledger


def _has_exponent(v: ir.StringValue) -> ir.BooleanValue:
    return v.contains("e") | v.contains("E")


_PARTS = ("__es_", "__ew_", "__ef_", "__ex_")  # sign, whole, fraction, exponent of E notation


def with_plain_text(t: ir.Table, columns: Mapping[str, str]) -> ir.Table:
    """`t` with, for each text column in `columns` (its name -> the new column's name),
    the plain decimal text it denotes: E notation rewritten with its digits moved and none
    dropped ('1.5e-3' is '0.0015'), other text as it is, null for E notation that is not a
    number or whose exponent is beyond E_LIMIT. The engine's own reading of E notation
    drops digits beyond the 38th after the point and fails on more than 20 before it,
    whatever the value: this keeps one grammar. Built in two layers, the parts first, so
    that each part is computed once and the query stays small."""
    parts: dict[str, ir.Value] = {}
    for src, dst in columns.items():
        v = t[src]
        e = ibis.ifelse(_has_exponent(v), v, _NULL_STR)  # the regex runs on E notation only
        for i, prefix in enumerate(_PARTS, 1):
            parts[prefix + dst] = e.re_extract(_E_PARTS, i)
    t = t.mutate(**parts)
    plain: dict[str, ir.Value] = {}
    for src, dst in columns.items():
        sign, whole, fraction, exp_text = (t[prefix + dst] for prefix in _PARTS)
        exponent = exp_text.try_cast(dt.int64)  # '' when not E notation; overflow: null
        digits = whole + fraction
        point = whole.length() + exponent
        n = digits.length()
        zeros = ibis.literal("0")
        moved = ibis.cases(
            (point <= 0, "0." + zeros.repeat(-point) + digits),
            (point >= n, digits + zeros.repeat(point - n)),
            else_=digits.substr(0, point) + "." + digits.substr(point),
        )
        readable = exponent.notnull() & (n > 0) & (exponent.abs() <= E_LIMIT)
        written = ibis.ifelse(readable, sign + moved, _NULL_STR)
        plain[dst] = ibis.ifelse(_has_exponent(t[src]), written, t[src])
    return t.mutate(**plain).drop(*(prefix + dst for dst in columns.values() for prefix in _PARTS))


#: The finest digit the ledger keeps, and the type its rounding residues are summed in: a
#: residue is below half of that digit, so 38 fractional digits hold it (and the sum of
#: any number of them up to 10**18 rows) exactly.
ULP = ibis.literal("0.000000000000000001", NUMBER)
RESIDUE = dt.Decimal(38, 38)
_WHOLE = dt.Decimal(38, 0)
RESIDUE_PLACES = 38  # fractional digits a source value may carry beyond which it is refused
ROUNDED_FLAG = "rounded_past_18_decimals:"
ROUNDED_FROM = "x_rounded_from"  # x_extensions key: column -> the source text of a rounded value
_LONG_LOSSY = rf"\.\d{{{NUMBER_SCALE}}}\d*[1-9]"
_TOO_FINE = rf"\.\d{{{RESIDUE_PLACES}}}\d*[1-9]"
_ALL_NINES = rf"^[+-]?9{{{NUMBER_INTEGER_DIGITS}}}\.9{{{NUMBER_SCALE}}}"


def _fits_fast(plain: ir.StringValue) -> ir.BooleanValue:
    dot = plain.find(".")
    n = plain.length()
    return ibis.ifelse(dot >= 0, (dot <= _FAST_INT) & (n - dot - 1 <= _FAST_FRAC), n <= _FAST_INT)


def _parse(text: ir.StringValue) -> ir.Value:
    return ibis.ifelse(_fits_fast(text), text.try_cast(_FAST).cast(NUMBER), text.try_cast(NUMBER))


def rounds(plain: ir.StringValue) -> ir.BooleanValue:
    """Whether plain decimal text has a non-zero digit past the ledger's 18th decimal place
    (and so is rounded on the way in)."""
    dot = plain.find(".")
    long_fraction = (dot >= 0) & (plain.length() - dot - 1 > NUMBER_SCALE)
    return ibis.ifelse(long_fraction, strip(plain).re_search(_LONG_LOSSY), False)


@dataclass(frozen=True)
class Rounded:
    """A decimal column read from text: the stored value, whether digits past the 18th
    place were rounded away, and the residue as plain decimal text (source value - stored
    value, exact; null when nothing was rounded; `RESIDUE` holds it as a decimal)."""

    value: ir.Value
    rounded: ir.BooleanValue
    residue: ir.StringValue


_RL, _RS, _RT, _RK, _RU = "__rl_", "__rs_", "__rt_", "__rk_", "__ru_"  # rounding layers


def with_rounding_layers(t: ir.Table, columns: Mapping[str, str]) -> ir.Table:
    """`t` with the parts `to_decimal_rounded` needs for each plain decimal column of
    `columns` (column -> a key naming its parts), in two layers (each layer repeats the
    table's columns in the query, so there are few). Only a value with a non-zero digit
    past the 18th place has parts; on every other row they are null and cost nothing."""
    first: dict[str, ir.Value] = {}
    for c, k in columns.items():
        long = rounds(t[c])
        first[f"{_RL}{k}"] = long
        first[f"{_RS}{k}"] = ibis.ifelse(long, strip(t[c]), _NULL_STR)
    t = t.mutate(**first)
    parts: dict[str, ir.Value] = {}
    for k in columns.values():
        p = _inline_parts(t[f"{_RS}{k}"], t[f"{_RL}{k}"])
        parts[f"{_RT}{k}"], parts[f"{_RK}{k}"], parts[f"{_RU}{k}"] = p["tail"], p["kept"], p["up"]
    return t.mutate(**parts)


def rounding_parts(t: ir.Table, key: str) -> dict[str, ir.Value]:
    """The parts `with_rounding_layers` wrote for `key`, by name."""
    return {"long": t[f"{_RL}{key}"], "text": t[f"{_RS}{key}"], "tail": t[f"{_RT}{key}"],
            "kept": t[f"{_RK}{key}"], "up": t[f"{_RU}{key}"]}  # fmt: skip


def _inline_parts(plain: ir.StringValue, long: ir.BooleanValue | None = None) -> dict[str, ir.Value]:
    """The parts of plain text's rounding: the text, what is kept, the digits past the 18th
    place and whether it rounds up (half-even)."""
    long = rounds(plain) if long is None else long
    text = strip(plain)
    dot = text.find(".")
    last = text.substr(dot + NUMBER_SCALE, 1)
    tail = text.substr(dot + 1 + NUMBER_SCALE)
    first, beyond = tail.substr(0, 1), tail.substr(1).re_search("[1-9]")
    up = (first > "5") | ((first == "5") & (beyond | last.isin(["1", "3", "5", "7", "9"])))
    kept = text.substr(0, dot + 1 + NUMBER_SCALE)
    return {"long": long, "text": text, "tail": tail, "kept": kept, "up": up}


def to_decimal_rounded(plain: ir.StringValue, parts: Mapping[str, ir.Value] | None = None) -> Rounded:
    """Plain decimal text (`with_plain_text`) to the ledger's decimal: exact where the text
    has at most 18 fractional digits (that are not zero), else rounded half-even at the
    18th with the residue kept exactly (digits 19 to 38; a non-zero digit beyond the 38th
    is refused by `decimal_problem`, since its residue could not be held). Text that
    provably fits a 64-bit decimal goes through one: the same value, a far cheaper parse.
    Digit separators ('1_000') are not a number here: `decimal_problem` says why. `parts`
    are the column's `rounding_parts` where a table has them in layers (the query stays
    small); without, they are computed inline."""
    p = parts if parts is not None else _inline_parts(plain)
    long, text, tail, up = p["long"], p["text"], p["tail"], p["up"]
    negative = text.startswith("-")
    truncated = p["kept"].try_cast(NUMBER)
    step = ibis.ifelse(negative, -ULP, ULP)
    overflow = up & text.re_search(_ALL_NINES)  # 99..9.99..9|5 would round out of range
    rounded_value = ibis.ifelse(overflow, ibis.null(NUMBER), ibis.ifelse(up, truncated + step, truncated))
    parsed = ibis.ifelse(long, rounded_value, _parse(plain))
    value = ibis.ifelse(plain.contains("_"), ibis.null(NUMBER), parsed)
    # the residue as text, from whole numbers of 20 digits (the places 19 to 38): exact, and
    # written the same by every engine (a decimal of scale 38 prints in E notation on some)
    width = RESIDUE_PLACES - NUMBER_SCALE
    tail_int = tail.substr(0, width).rpad(width, "0").try_cast(_WHOLE)
    magnitude = ibis.ifelse(up, ibis.literal(10**width, _WHOLE) - tail_int, tail_int)
    digits = magnitude.cast(dt.string).lpad(width, "0")
    minus = ibis.ifelse(negative != up, "-", "")
    residue_text = minus + "0." + "0" * NUMBER_SCALE + re_replace(digits, r"0+$", "")
    residue = ibis.ifelse(long, residue_text, _NULL_STR)
    return Rounded(value, long & value.notnull(), residue)


def decimal_problem(
    name: str,
    v: ir.StringValue,
    plain: ir.StringValue,
    num: ir.Value,
    long: ir.BooleanValue | None = None,
    short: bool = False,
) -> ir.StringValue:
    """Why text `v` (`plain` as `with_plain_text` wrote it) is not a decimal the ledger can
    hold; null if it is. Digits past the 18th place are rounded (`to_decimal_rounded`), so
    only a non-zero digit past the 38th place (whose residue could not be kept exactly),
    an integer part over 20 digits, or text that is no number is refused. Nested
    conditions, as the engine evaluates each branch only on the rows that reach it. `long`
    is `rounds(plain)` where a layer holds it already; `short`: the column has no value
    past the 18th place (`short_decimals`), so none is too fine."""
    unparsed = ibis.cases(
        (~v.re_search(_NUMBER_TEXT), f"{name}: not a number: " + _shown(v)),
        (plain.isnull(), f"{name}: an exponent beyond {E_LIMIT} either way: " + _shown(v)),
        else_=f"{name}: out of range (more than {NUMBER_INTEGER_DIGITS} integer digits): " + _shown(v),
    )
    if short:
        return ibis.ifelse(num.notnull() | v.isnull(), _NULL_STR, unparsed)
    long = rounds(plain) if long is None else long
    too_fine = ibis.ifelse(long, strip(plain).re_search(_TOO_FINE), False)
    places = f"{name}: more than {RESIDUE_PLACES} decimal places: " + _shown(v)
    return ibis.ifelse(
        num.notnull(),
        ibis.ifelse(too_fine, places, _NULL_STR),
        ibis.ifelse(v.isnull(), _NULL_STR, unparsed),
    )


def rounded_from(
    rounded: Mapping[str, ir.BooleanValue], source: Mapping[str, ir.StringValue]
) -> ir.StringValue:
    """The members of the x_extensions object ROUNDED_FROM for the columns rounded on a row
    (null when none was): the source text of each rounded value, as JSON text (numeric
    text needs no escaping, so it is written directly). The residues are computed from it
    when the ingest is recorded (`ingest/rounding.py`)."""
    froms = [ibis.ifelse(r, f'"{name}":"' + strip(source[name]) + '"', _NULL_STR)
             for name, r in rounded.items()]  # fmt: skip
    if not froms:
        return _NULL_STR
    return ibis.literal(",").join(froms).nullif("")


def to_datetime(v: ir.StringValue) -> ir.Value:
    """ISO 8601 (with Z, an offset, or none: UTC) to a naive UTC timestamp. M/D/Y dates
    (Azure native and spreadsheet exports) are read as month/day/year and flagged."""
    us4 = r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})"
    us2 = r"^\s*(\d{1,2})/(\d{1,2})/(\d{2})"
    us_text = ibis.ifelse(
        v.re_search(us4), re_replace(v, us4, r"\3-\1-\2"), re_replace(v, us2, r"20\3-\1-\2")
    )
    iso = re_replace(strip(v).upper(), _UTC_WORD, "+00:00")
    # engines read a zone only after whole seconds: 23:00-05:00 is 23:00:00-05:00
    iso = re_replace(iso, r"([T ]\d{1,2}:\d{2})(\s*(Z|[+-]\d))", r"\1:00\2")
    return ibis.cases(
        (v.re_search(_ISO_WHOLE), iso.try_cast(dt.Timestamp(timezone="UTC")).cast(dt.Timestamp())),
        (v.re_search(_ISO_DATE), ibis.null(dt.Timestamp())),  # ISO with a zone we do not convert
        (v.re_search(_US_DATE), strip(us_text).try_cast(dt.Timestamp())),
        else_=ibis.null(dt.Timestamp()),
    )


#: A timestamp whose offset moved it into another month when stored in UTC (the ledger's
#: months are UTC months: 2024-03-31T23:00-05:00 is April's).
MOVED_FLAG = "offset_moved_month:"


def moved_month(v: ir.StringValue, value: ir.Value) -> ir.BooleanValue:
    """Whether the ISO text `v` names another year or month than its UTC value `value`:
    only an offset can do that, and the row is flagged so that a reader sees why its month
    is not the one written."""
    pattern = r"^\s*(\d{4})-(\d{1,2})"
    year, month = (v.re_extract(pattern, i).cast(dt.int32) for i in (1, 2))
    written = v.re_search(_ISO_DATE) & value.notnull()
    return ibis.ifelse(written, (value.year() != year) | (value.month() != month), False)


def _is_us_date(v: ir.StringValue) -> ir.BooleanValue:
    return v.notnull() & ~v.re_search(_ISO_DATE)


def _enum(name: str, v: ir.StringValue, allowed: tuple[str, ...]) -> ir.StringValue:
    """A value of an allowed set; a case or pre-1.0 spelling is mapped to the FOCUS one."""
    fixes = [(strip(v.lower()) == a.lower(), a) for a in allowed]
    fixes += [(strip(v.lower()) == old, new) for old, new in LEGACY_VALUES.get(name, {}).items()]
    return ibis.ifelse(v.isin(allowed), v, ibis.cases(*fixes, else_=_NULL_STR))


def _enum_problem(
    name: str, v: ir.StringValue, value: ir.StringValue, allowed: Sequence[str]
) -> ir.StringValue:
    listed = ", ".join(allowed)
    return _problem(v.notnull() & value.isnull(),
                    f"{name}: not allowed: " + _shown(v) + f" (allowed: {listed})")  # fmt: skip


def _json_problem(name: str, v: ir.StringValue) -> ir.StringValue:
    """Tags, SkuPriceDetails and the like must be serialised JSON objects."""
    is_object = is_json_object(v)
    return _problem(v.notnull() & ~is_object, f"{name}: not a JSON object: " + _shown(v))


def short_decimals(raw: ir.Table, header_map: Mapping[str, str]) -> dict[str, ir.BooleanValue]:
    """Per decimal column of `raw` (its FOCUS name -> an aggregate): whether every value
    is short, with no exponent and at most 18 digits after a point. Such a column needs
    neither the E-notation rewriting nor the rounding past the 18th place, and `normalize`
    leaves them out of its (large) statement for it: the same values, far less to plan.
    The test is on length, so a value it cannot settle keeps the column on the full path."""
    out = {}
    for header, name in header_map.items():
        if BY_NAME[name].kind is not Kind.DECIMAL:
            continue
        v = raw[header]
        dot = v.find(".")
        long = (dot >= 0) & (v.length() - dot - 1 > NUMBER_SCALE)
        out[name] = ~(_has_exponent(v) | long).fill_null(False).any().fill_null(False)
    return out


def normalize(
    raw: ir.Table,
    header_map: Mapping[str, str],
    short: frozenset[str] = frozenset(),
    sources: Mapping[str, str] | None = None,
) -> ir.Table:
    """Typed charges from a table of text columns.

    `raw` has the file's own column names plus ROW; `header_map` maps a file column
    to its FOCUS name (file columns not in it are extensions). The result has the
    FOCUS columns of the ledger, `x_quality_flags`, `x_extensions`, ROW, REASON (null
    when the row is good) and RAW (the row as read, JSON, only on rejected rows).

    The work is done in layers (text, then typed values, then checks) so that each
    layer refers to the one before by column name, keeping the query linear in size.
    `short` names the decimal columns `short_decimals` found short: read without the
    E-notation and rounding layers. `sources`: a mapped file's columns each FOCUS column
    is read from, in words, named beside it in a reason ("BilledCost (from
    lineItem/UnblendedCost): not a number: 'abc'").
    """
    by_focus = {focus: header for header, focus in header_map.items()}
    present = [c for c in COLUMNS if c.name in by_focus]
    said = {c.name: f"{c.name} ({sources[c.name]})" if sources and c.name in sources else c.name
            for c in present}  # fmt: skip

    # Layer 1: nulls normalised; the file's own columns kept for RAW and x_extensions.
    layer1: dict[str, ir.Value] = {}
    null_literal, blank = [], []
    for col in present:
        layer1[_T + col.name], lit, blk = nullish(raw[by_focus[col.name]])
        null_literal.append(lit)
        blank.append(blk)
    layer1[_F + "null"] = _problem(_any(null_literal), "null_literal")
    layer1[_F + "blank"] = _problem(_any(blank), "blank_as_null")
    t1 = raw.mutate(**layer1)
    decimals = [col.name for col in present if col.kind is Kind.DECIMAL and col.name not in short]
    t1 = with_plain_text(t1, {_T + name: _P + name for name in decimals})
    t1 = with_rounding_layers(t1, {_P + name: name for name in decimals})

    # Layer 2: typed values.
    layer2: dict[str, ir.Value] = {}
    for col in present:
        v = t1[_T + col.name]
        if col.kind is Kind.DECIMAL and col.name in short:
            layer2[_V + col.name] = ibis.ifelse(v.contains("_"), ibis.null(NUMBER), _parse(v))
        elif col.kind is Kind.DECIMAL:
            layer2[_V + col.name] = to_decimal_rounded(t1[_P + col.name], rounding_parts(t1, col.name)).value
        elif col.kind is Kind.DATETIME:
            layer2[_V + col.name] = to_datetime(v)
        elif col.allowed:
            layer2[_V + col.name] = _enum(col.name, v, col.allowed)
        elif col.name == "BillingCurrency":
            ok = strip(v).re_search(r"^[A-Za-z]{3}$")
            layer2[_V + col.name] = ibis.ifelse(ok, strip(v).upper(), v)
        else:
            layer2[_V + col.name] = v
    t2 = t1.mutate(**layer2)

    # Layer 3: each column's own problems and flags, by name on layers 1 and 2.
    problems: list[ir.StringValue] = []
    flags: list[ir.StringValue] = [t2[_F + "null"], t2[_F + "blank"]]
    rounded: dict[str, ir.BooleanValue] = {}
    for col in present:
        v, value = t2[_T + col.name], t2[_V + col.name]
        if col.kind is Kind.DECIMAL and col.name in short:
            problems.append(decimal_problem(said[col.name], v, v, value, short=True))
        elif col.kind is Kind.DECIMAL:
            problems.append(decimal_problem(said[col.name], v, t2[_P + col.name], value, t2[_RL + col.name]))
            rounded[col.name] = t2[_RL + col.name] & value.notnull()
            flags.append(_problem(rounded[col.name], ROUNDED_FLAG + col.name))
        elif col.kind is Kind.DATETIME:
            problems.append(_problem(v.notnull() & value.isnull(),
                                     f"{said[col.name]}: not a date-time: " + _shown(v)))  # fmt: skip
            flags.append(_problem(value.notnull() & _is_us_date(v), "us_date_format:" + col.name))
            flags.append(_problem(moved_month(v, value), MOVED_FLAG + col.name))
        elif col.kind is Kind.JSON:
            problems.append(_json_problem(said[col.name], v))
        elif col.allowed:
            problems.append(_enum_problem(said[col.name], v, value, col.allowed))
            flags.append(_problem(value.notnull() & (value != v), "value_spelling_fixed:" + col.name))
        elif col.name == "BillingCurrency":
            problems.append(_problem(v.notnull() & ~strip(v).re_search(r"^[A-Za-z]{3}$"),
                                     f"{said[col.name]}: not an ISO 4217 code: " + _shown(v)))  # fmt: skip
            flags.append(_problem(value != v, "value_spelling_fixed:BillingCurrency"))

    # Layer 3: rules across columns, on the typed values.
    values = {col.name: t2[_V + col.name] for col in present}
    text = {col.name: t2[_T + col.name] for col in present}
    _derive_providers(values, flags)
    for col in COLUMNS:
        if col.required_value:
            v = values.get(col.name)
            missing = ibis.literal(True) if v is None else v.isnull()
            # a value that failed to parse has its own reason already
            unparsed = True if col.name not in text else text[col.name].isnull()
            problems.append(
                _problem(missing & unparsed, f"{said.get(col.name, col.name)}: missing (must not be null)")
            )
        elif col.focus_not_null and col.name in values:
            flags.append(_problem(values[col.name].isnull() & text[col.name].isnull(),
                                  "null_not_allowed:" + col.name))  # fmt: skip
    problems.extend(_period_problems(values, flags))

    reason = ibis.literal("; ").join(problems).nullif("")
    extension_cols = [c for c in raw.columns if c not in header_map and c not in CARRIED]
    out: dict[str, ir.Value] = {}
    for col in COLUMNS:
        out[col.name] = values[col.name] if col.name in values else ibis.null(CHARGES[col.name])
    out["x_quality_flags"] = ibis.literal(";").join(flags).nullif("")
    for carried in CARRIED:
        if carried in raw.columns:
            out[carried] = t2[carried]
    out[REASON] = reason
    # the row as read: the file's own text, from before any column took its typed value
    raw_json = ibis.struct({c: t2[c] for c in raw.columns if c not in CARRIED}).cast(dt.json)
    out[RAW] = ibis.ifelse(reason.notnull(), raw_json.cast(dt.string), _NULL_STR)
    # the extensions' JSON in a layer of its own: the rounding members refer to it by name
    t3 = t2.mutate(__x_own=_extensions(t2, extension_cols), __x_froms=rounded_from(rounded, text))
    out["x_extensions"] = _with_rounded_from(t3.__x_own, t3.__x_froms, bool(extension_cols))
    return t3.select(**out)


def _any(conds: list[ir.BooleanValue]) -> ir.BooleanValue:
    result: ir.BooleanValue = ibis.literal(False)
    for c in conds:
        result = result | c.fill_null(False)
    return result


def _derive_providers(values: dict[str, ir.Value], flags: list[ir.StringValue]) -> None:
    """1.0-1.2 files name ProviderName and PublisherName; 1.3 names the seller
    (ServiceProviderName) and the infrastructure (HostProviderName). A publisher
    other than the provider and the invoice issuer is a marketplace seller."""
    if "ServiceProviderName" in values or "ProviderName" not in values:
        return
    provider = values["ProviderName"]
    publisher = values.get("PublisherName", _NULL_STR)
    issuer = values.get("InvoiceIssuerName", _NULL_STR)
    first_party = publisher.isnull() | (publisher == provider) | (publisher == issuer).fill_null(False)
    values["ServiceProviderName"] = ibis.ifelse(first_party, provider, publisher)
    if "HostProviderName" not in values:
        values["HostProviderName"] = provider
    flags.append(_problem(~first_party, "service_provider_is_publisher"))


def _period_problems(values: dict[str, ir.Value], flags: list[ir.StringValue]) -> list[ir.StringValue]:
    out = []
    for kind in ("Charge", "Billing"):
        start, end = values.get(f"{kind}PeriodStart"), values.get(f"{kind}PeriodEnd")
        if start is None or end is None:
            continue
        bad = (end < start) if kind == "Charge" else (end <= start)
        if kind == "Charge":  # FOCUS: the end is exclusive, so an empty period charges no time
            flags.append(_problem((end == start).fill_null(False), "empty_charge_period"))
        out.append(_problem(
            bad.fill_null(False),
            f"{kind}PeriodEnd " + _shown(end.cast(dt.string))
            + f" is not after {kind}PeriodStart " + _shown(start.cast(dt.string)),
        ))  # fmt: skip
    cs, bs, be = (values.get(k) for k in ("ChargePeriodStart", "BillingPeriodStart", "BillingPeriodEnd"))
    if cs is not None and bs is not None and be is not None:
        outside = ((cs < bs) | (cs >= be)).fill_null(False)
        correction = values.get("ChargeClass")
        if correction is not None:  # a correction bills an earlier period: expected, not odd
            outside = outside & ~(correction == "Correction").fill_null(False)
        flags.append(_problem(outside, "charge_outside_billing_period"))
    return out


def extension_keys(cols: list[str], reserved: tuple[str, ...] = (ROUNDED_FROM,)) -> dict[str, str]:
    """Column -> its key in x_extensions: the x_ prefix FOCUS asks for, and never a key
    another column has (`foo` beside `x_foo` becomes `x_foo_2`; keys are compared without
    case, as the engines compare field names) nor one the ledger writes itself
    (`reserved`: a file's own `x_rounded_from` becomes `x_rounded_from_2`). Every column
    survives."""
    own = {r.lower() for r in reserved}
    taken = {c.lower() for c in cols if c.startswith("x_")} | own
    out: dict[str, str] = {}
    for c in cols:
        used = {v.lower() for v in out.values()}
        if c.startswith("x_") and c.lower() not in used and c.lower() not in own:
            out[c] = c
            continue
        base = c if c.startswith("x_") else f"x_{c}"
        key, n = base, 1
        while key.lower() in taken or key.lower() in used:
            n += 1
            key = f"{base}_{n}"
        out[c] = key
        taken.add(key.lower())
    return out


def _extensions(raw: ir.Table, cols: list[str]) -> ir.StringValue:
    """Columns FOCUS does not define, as one JSON object of those with a value on the row
    (see `extension_keys`); null when none has."""
    if not cols:
        return _NULL_STR
    keys = extension_keys(cols)
    return json_object_text({keys[c]: raw[c] for c in cols})


def _with_rounded_from(own: ir.StringValue, froms: ir.StringValue, has_own: bool) -> ir.StringValue:
    """The extensions' JSON object with the source text of every value rounded past the
    18th decimal place under ROUNDED_FROM (`rounded_from`), when there is one."""
    added = f'"{ROUNDED_FROM}":{{' + froms + "}"
    alone = ibis.ifelse(froms.notnull(), "{" + added + "}", _NULL_STR)
    if not has_own:
        return alone
    # the object's text ends in its closing brace: the rounding members go before it
    body = own.substr(0, own.length() - 1)
    return ibis.cases((own.isnull(), alone), (froms.notnull(), body + "," + added + "}"), else_=own)
