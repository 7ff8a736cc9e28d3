"""Seeded generator of realistic segment-member streams (Singer JSONL) for the benchmarks.

    .venv/bin/python bench/generate.py --records 100000 [--segments 20] [--shape flat|membership]
        [--values strings|realistic] [--duplicates 0.2] [--fanout 3] [--state-every 10000]
        [--seed 7] --out FILE

Writes a SCHEMA message for stream `segment_members`, RECORD messages and a STATE message
every `--state-every` records (and one at the end). Next to FILE it writes FILE.meta.json with
what a correct export of it holds: records, rows (one per record, or one per map entry), rows
after deduplication on `email`, the segments used and the last STATE.

Shapes:
- flat: each record carries its segment in `segment_id`, `segment_name`, `segment_status`
  (and `last_qualification_time`).
- membership: each record carries AEP's map
  `{"segmentMembership": {"ups": {"<segment id>": {"status": ..., "lastQualificationTime": ...}}}}`
  with 1 to 2*fanout-1 segments (fanout on average); the target fans it out to one row each.

Values:
- strings: the 10 person fields are text (a tenth of the phones null), 13 columns in all.
- realistic: as real member exports are, 19 columns: the person fields, plus a decimal
  amount (`lifetime_value`), an integer (`order_count`), a boolean (`opted_in`), a date-time
  (`last_purchase_at`), one nested object (`address`, exported as JSON text) and a free
  text (`note`) that now and then holds a tab, a double quote or a line break, so the CSV
  writer must quote it; about a fifth of all values are null.

Identities are made from their index with a hash, so a duplicate (a record repeating an
earlier identity in the same segment, with a newer qualification time) costs no memory.
No value holds a backslash and numbers are written in their shortest form (what a float's
repr gives), so the target's bytes and those of a csv.writer (bench/reference.py) agree,
but for how a quote inside quotes is escaped (the bench compares the two as equal).
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from typing import Any

try:
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover - orjson is a dev extra; json is just slower

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


STREAM = "segment_members"
# The 13 exported columns, in order (the same for both shapes: with the membership map the
# target makes segment_id, segment_name and segment_status from the map).
COLUMNS = [
    "email", "first_name", "last_name", "phone", "city", "country", "postal_code",
    "birth_date", "loyalty_tier", "crm_id", "segment_id", "segment_name", "segment_status",
]  # fmt: skip
PERSON = COLUMNS[:10]
# The realistic records' extra columns, between the person's and the segment's.
EXTRAS = ["lifetime_value", "order_count", "opted_in", "last_purchase_at", "address", "note"]
REALISTIC_COLUMNS = [*PERSON, *EXTRAS, *COLUMNS[10:]]
VALUES = ("strings", "realistic")
NULL_SHARE = 0.3
"""Chance that a nullable realistic field is null: about a fifth of all 19 values."""
MASK = (1 << 64) - 1

FIRST = [
    ("Anna", "anna"), ("Lukas", "lukas"), ("Sofía", "sofia"), ("José", "jose"),
    ("Émilie", "emilie"), ("Jürgen", "juergen"), ("Maria", "maria"), ("James", "james"),
    ("Olivia", "olivia"), ("Noah", "noah"), ("Chloé", "chloe"), ("Mateo", "mateo"),
    ("Aiko", "aiko"), ("Wei", "wei"), ("Priya", "priya"), ("Ahmed", "ahmed"),
    ("Fatima", "fatima"), ("Liam", "liam"), ("Emma", "emma"), ("Zoë", "zoe"),
    ("Björn", "bjoern"), ("Ingrid", "ingrid"), ("Luca", "luca"), ("Giulia", "giulia"),
    ("Mary-Jane", "maryjane"), ("Jean-Luc", "jeanluc"), ("Oğuz", "oguz"), ("Nadia", "nadia"),
    ("Hannah", "hannah"), ("Mohammed", "mohammed"), ("Elena", "elena"), ("Pavel", "pavel"),
]  # fmt: skip
LAST = [
    ("Schmidt", "schmidt"), ("Müller", "mueller"), ("García", "garcia"), ("Smith", "smith"),
    ("O'Brien", "obrien"), ("Dubois", "dubois"), ("Rossi", "rossi"), ("Nakamura", "nakamura"),
    ("Zhang", "zhang"), ("Patel", "patel"), ("Kowalski", "kowalski"), ("Novák", "novak"),
    ("van der Berg", "vanderberg"), ("Johansson", "johansson"), ("Fernández", "fernandez"),
    ("Williams", "williams"), ("Brown", "brown"), ("Öztürk", "oeztuerk"), ("Santos", "santos"),
    ("Ivanova", "ivanova"), ("Kim", "kim"), ("Nguyen", "nguyen"), ("Martin", "martin"),
    ("Lefèvre", "lefevre"), ("Andersen", "andersen"), ("Costa", "costa"), ("Weber", "weber"),
    ("Smith-Jones", "smithjones"), ("Horváth", "horvath"), ("Byrne", "byrne"),
    ("Al-Sayed", "alsayed"), ("Moreau", "moreau"),
]  # fmt: skip
CITIES = [
    ("Berlin", "DE", "+49 30"), ("München", "DE", "+49 89"), ("Hamburg", "DE", "+49 40"),
    ("Paris", "FR", "+33 1"), ("Lyon", "FR", "+33 4"), ("Madrid", "ES", "+34 91"),
    ("Barcelona", "ES", "+34 93"), ("Milano", "IT", "+39 02"), ("Roma", "IT", "+39 06"),
    ("London", "GB", "+44 20"), ("Manchester", "GB", "+44 161"), ("Dublin", "IE", "+353 1"),
    ("New York", "US", "+1 212"), ("San Francisco", "US", "+1 415"), ("Chicago", "US", "+1 312"),
    ("Toronto", "CA", "+1 416"), ("São Paulo", "BR", "+55 11"),
    ("Ciudad de México", "MX", "+52 55"),
    ("Tokyo", "JP", "+81 3"), ("Sydney", "AU", "+61 2"), ("Amsterdam", "NL", "+31 20"),
    ("Warszawa", "PL", "+48 22"), ("Praha", "CZ", "+420 2"), ("Stockholm", "SE", "+46 8"),
]  # fmt: skip
DOMAINS = ["example.com", "mail.example.org", "example.net", "shop.example.de"]
TIERS = ["bronze", "bronze", "bronze", "silver", "silver", "gold", "platinum", None]
THEMES = [
    "Luxury Audience", "Lapsed Buyers 90d", "Newsletter Subscribers", "Cart Abandoners",
    "High Value Customers", "App Users (iOS)", "Loyalty Gold+", "Winter Sale Prospects",
    "Sports & Outdoor", "First-time Buyers",
]  # fmt: skip


def _mix(x: int) -> int:
    """splitmix64: a well-spread 64-bit hash of x."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


STREETS = ["Hauptstraße", "Rue de l'Église", "Main St", "Via Roma", "Calle Mayor", "Ringweg"]
NOTES = [
    "called back", "prefers e-mail", "VIP since 2019", "moved\tabroad",
    'asked for "quiet" hours', "two lines:\nsecond line", "gift card, 2x", "",
]  # fmt: skip
"""Free text; some need quoting in tab-delimited CSV (tab, double quote, line break)."""


def segment_list(count: int, seed: int) -> list[tuple[str, str]]:
    """(id, name) of `count` segments: UUID-shaped ids, names with spaces."""
    rng = random.Random(f"segments-{seed}")  # noqa: S311 (test data, not secrets)
    out = []
    for n in range(count):
        h = f"{rng.getrandbits(128):032x}"
        sid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
        theme = THEMES[n % len(THEMES)]
        out.append((sid, theme if n < len(THEMES) else f"{theme} {n // len(THEMES) + 1}"))
    return out


def birth_date(year: int, doy: int) -> str:
    """A valid calendar date from a day number (30-day months, February cut at the 28th).

    The realistic shape declares `format: date`: Parquet stores it as a date and refuses
    a February 29th or 30th that the plain formula would make.
    """
    month, day = doy // 30 + 1, doy % 30 + 1
    return f"{year}-{month:02d}-{min(day, 28) if month == 2 else day:02d}"


def segment_table(count: int, seed: int, size: int = 1 << 16) -> list[int]:
    """A lookup table of segment indexes with skewed (Zipf-like) sizes: a few large ones."""
    weights = [1 / (k + 1) ** 0.8 for k in range(count)]
    total = sum(weights)
    table: list[int] = []
    for k, w in enumerate(weights):
        table.extend([k] * max(1, round(size * w / total)))
    random.Random(seed).shuffle(table)  # noqa: S311 (test data, not secrets)
    return table


class Identities:
    """The person fields of identity j, made from j with a hash (no memory per identity)."""

    def __init__(self, seed: int) -> None:
        self.salt = _mix(seed) & 0xFFFFFFFF

    def person(self, j: int, realistic: bool = False) -> tuple[dict[str, Any], int]:
        """(person fields, spare hash bits) of identity j (with the extras when realistic)."""
        h = _mix((j << 32) ^ self.salt)
        g = _mix(h ^ 0x5DEECE66D)
        first, ascii_first = FIRST[h % len(FIRST)]
        h //= len(FIRST)
        last, ascii_last = LAST[h % len(LAST)]
        h //= len(LAST)
        city, country, prefix = CITIES[h % len(CITIES)]
        h //= len(CITIES)
        domain = DOMAINS[h % len(DOMAINS)]
        h //= len(DOMAINS)
        tier = TIERS[h % len(TIERS)]
        h //= len(TIERS)
        day = g % 18000  # birth dates 1950 .. 1999
        g //= 18000
        year, doy = 1950 + day // 360, day % 360
        phone = None if g % 10 == 0 else f"{prefix} {g % 10_000_000:07d}"
        g //= 10_000_000
        person = {
            "email": f"{ascii_first}.{ascii_last}.{j}@{domain}",
            "first_name": first,
            "last_name": last,
            "phone": phone,
            "city": city,
            "country": country,
            "postal_code": f"{g % 100_000:05d}",
            "birth_date": birth_date(year, doy),
            "loyalty_tier": tier,
            "crm_id": f"CRM{j:010d}",
        }
        if realistic:
            person.update(extras(_mix(g ^ 0x2545F4914F6CDD1D)))
            person["phone"] = None if g % 8 < 2 else person["phone"]  # a quarter null
            for name in ("first_name", "city", "birth_date", "postal_code"):
                if (g := _mix(g)) % 100 < NULL_SHARE * 100:
                    person[name] = None
        return person, h


def extras(bits: int) -> dict[str, Any]:
    """The realistic extra fields, from 64 hash bits: typed values, some null, one nested."""
    out: dict[str, Any] = {}
    nulls = _mix(bits)
    cents, bits = bits % 5_000_000, bits // 5_000_000
    out["lifetime_value"] = cents / 100  # a float: its repr is the shortest text (10.5, 0.07)
    orders, bits = bits % 250, bits // 250
    out["order_count"] = orders
    out["opted_in"] = bits % 3 != 0
    bits //= 3
    out["last_purchase_at"] = _time(1 + bits % 12, bits // 12)
    bits = _mix(bits)  # _time used the rest
    street = STREETS[bits % len(STREETS)]
    bits //= len(STREETS)
    out["address"] = {"street": street, "number": 1 + bits % 199, "unit": None}
    bits //= 199
    out["note"] = NOTES[bits % len(NOTES)]
    for name in EXTRAS:
        if nulls % 100 < NULL_SHARE * 100:
            out[name] = None
        nulls = _mix(nulls)
    return out


def _time(month: int, bits: int) -> str:
    """A qualification time in 2024-`month`, from hash bits."""
    day, bits = bits % 28 + 1, bits // 28
    hour, bits = bits % 24, bits // 24
    return f"2024-{month:02d}-{day:02d}T{hour:02d}:{bits % 60:02d}:{bits // 60 % 60:02d}Z"


def schema_message(shape: str, values: str = "strings") -> dict[str, Any]:
    """The stream's SCHEMA message for `shape` and `values`."""
    text = {"type": ["string", "null"]}
    properties: dict[str, Any] = {name: text for name in PERSON}
    if values == "realistic":
        properties.update(
            email={"type": "string"},
            birth_date={"type": ["string", "null"], "format": "date"},
            crm_id={"type": "string"},
            lifetime_value={"type": ["number", "null"]},
            order_count={"type": ["integer", "null"]},
            opted_in={"type": ["boolean", "null"]},
            last_purchase_at={"type": ["string", "null"], "format": "date-time"},
            address={
                "type": ["object", "null"],
                "properties": {
                    "street": {"type": "string"},
                    "number": {"type": "integer"},
                    "unit": {"type": ["string", "null"]},
                },
            },
            note={"type": ["string", "null"]},
        )
    if shape == "flat":
        properties.update(
            segment_id={"type": "string"},
            segment_name={"type": ["string", "null"]},
            segment_status={"type": ["string", "null"]},
            last_qualification_time={"type": ["string", "null"], "format": "date-time"},
        )
    else:
        properties["segmentMembership"] = {"type": ["object", "null"]}
    return {
        "type": "SCHEMA",
        "stream": STREAM,
        "schema": {"type": "object", "properties": properties},
        "key_properties": ["email"],
    }


def generate(  # noqa: PLR0915 (one loop over records, kept in one piece)
    out: Path,
    records: int,
    *,
    segments: int = 20,
    shape: str = "flat",
    values: str = "strings",
    duplicates: float = 0.0,
    fanout: float = 3.0,
    state_every: int = 10_000,
    seed: int = 7,
) -> dict[str, Any]:
    """Write the stream to `out` (atomically) and its meta file; return the meta."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    ids = Identities(seed)
    segs = segment_list(segments, seed)
    table = segment_table(segments, seed)
    max_k = max(1, min(segments, round(2 * fanout - 1)))
    realistic = values == "realistic"
    rows = bases = 0
    per_segment = [0] * segments
    tmp = out.with_name(out.name + ".tmp")
    state: dict[str, Any] = {}
    with tmp.open("wb") as f:
        batch = [dumps(schema_message(shape, values))]
        for n in range(records):
            if bases and duplicates and rng.random() < duplicates:
                j, month = rng.randrange(bases), 5  # newer than every base record (April)
            else:
                j, month = bases, 4
                bases += 1
            record, bits = ids.person(j, realistic)
            status = "existing" if bits % 4 == 0 else "realized"
            bits //= 4
            if shape == "flat":
                k = table[bits % len(table)]
                sid, name = segs[k]
                record["segment_id"], record["segment_name"] = sid, name
                record["segment_status"] = status
                record["last_qualification_time"] = _time(month, bits >> 16 ^ n)
                per_segment[k] += 1
                rows += 1
            else:
                chosen: dict[str, Any] = {}
                want = 1 + bits % max_k
                probe = _mix(bits ^ j)
                while len(chosen) < want:
                    k = table[probe % len(table)]
                    probe = _mix(probe)
                    sid = segs[k][0]
                    if sid not in chosen:
                        per_segment[k] += 1
                        chosen[sid] = {
                            "status": status,
                            "lastQualificationTime": _time(month, probe ^ n),
                        }
                record["segmentMembership"] = {"ups": chosen}
                rows += want
            batch.append(dumps({"type": "RECORD", "stream": STREAM, "record": record}))
            if (n + 1) % state_every == 0 or n + 1 == records:
                state = {"bookmarks": {STREAM: {"offset": n + 1}}}
                batch.append(dumps({"type": "STATE", "value": state}))
            if len(batch) >= 20_000:
                f.write(b"\n".join(batch) + b"\n")
                batch = []
        if batch:
            f.write(b"\n".join(batch) + b"\n")
    os.replace(tmp, out)
    meta = {
        "records": records,
        "rows": rows,
        # Dedup on email per segment file: a duplicate repeats a base identity in its segment
        # (flat shape), so exactly the base identities remain.
        "dedup_rows": bases if shape == "flat" else None,
        "segments_used": sum(1 for c in per_segment if c),
        "segments": [
            {"id": s[0], "name": s[1], "rows": c} for s, c in zip(segs, per_segment, strict=True)
        ],
        "shape": shape,
        "values": values,
        "state": state,
    }
    meta_path(out).write_text(json.dumps(meta))
    return meta


def meta_path(out: Path) -> Path:
    """Where the meta of a generated stream lives."""
    return out.with_name(out.name + ".meta.json")


def cached(
    workdir: Path,
    records: int,
    *,
    segments: int,
    shape: str,
    duplicates: float,
    values: str = "strings",
    fanout: float = 3.0,
    seed: int = 7,
) -> tuple[Path, dict[str, Any]]:
    """The stream for these parameters under workdir, generated on first use."""
    kind = "" if values == "strings" else f"-{values}"
    name = f"{shape}{kind}-n{records}-s{segments}-d{duplicates:g}-f{fanout:g}-seed{seed}.jsonl"
    path = workdir / "inputs" / name
    if path.exists() and meta_path(path).exists():
        return path, json.loads(meta_path(path).read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = generate(
        path,
        records,
        segments=segments,
        shape=shape,
        values=values,
        duplicates=duplicates,
        fanout=fanout,
        seed=seed,
    )
    return path, meta


def main() -> None:
    """Parse arguments and write the stream."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--shape", choices=["flat", "membership"], default="flat")
    parser.add_argument("--values", choices=VALUES, default="strings")
    parser.add_argument("--duplicates", type=float, default=0.0, help="share of records, 0..1")
    parser.add_argument("--fanout", type=float, default=3.0, help="segments per record (map)")
    parser.add_argument("--state-every", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    meta = generate(
        args.out,
        args.records,
        segments=args.segments,
        shape=args.shape,
        values=args.values,
        duplicates=args.duplicates,
        fanout=args.fanout,
        state_every=args.state_every,
        seed=args.seed,
    )
    del meta["segments"]
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
