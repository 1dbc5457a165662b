"""The sample domain: tiers, operators and currencies the demo catalogues cover.

The generators of sample accounts and events (`billing events publish-sample`) draw from these, and
the Finance seed catalogues in dbt_project/seeds/ cover every combination of them.
"""

from __future__ import annotations

import calendar
import csv
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import orjson

from billing.periods import Period

TIERS = ("starter", "business", "enterprise")
CURRENCIES = ("EUR", "USD", "GBP")
DIRECTIONS = ("outbound", "inbound")
# operator_id -> ISO 3166-1 country of the handsets it serves
OPERATORS = {
    "orange_fr": "FR",
    "sfr_fr": "FR",
    "vodafone_de": "DE",
    "telekom_de": "DE",
    "telefonica_es": "ES",
    "tim_it": "IT",
    "bt_uk": "GB",
    "ee_uk": "GB",
    "att_us": "US",
    "verizon_us": "US",
}

SAMPLE_NAMESPACE = uuid.UUID("6f1c2d3e-4b5a-4c6d-9e8f-0a1b2c3d4e5f")


def sample_tenant_id(index: int) -> uuid.UUID:
    """The id of sample tenant number `index` (stable across runs and machines)."""
    return uuid.uuid5(SAMPLE_NAMESPACE, f"sample-tenant-{index:05d}")


# --- Sample accounts and tiers (ref.accounts, ref.account_tiers) ---------------------------

CURRENCY_WEIGHTS = (0.5, 0.3, 0.2)  # EUR, USD, GBP
TIER_WEIGHTS = (0.5, 0.35, 0.15)  # starter, business, enterprise
_NAME_FIRST = (
    "Northwind",
    "Bluebird",
    "Harbor",
    "Alpine",
    "Copper",
    "Lumen",
    "Granite",
    "Maple",
    "Orbit",
    "Pioneer",
    "Quartz",
    "Riverside",
    "Summit",
    "Tidal",
    "Vertex",
    "Willow",
)
_NAME_SECOND = (
    "Logistics",
    "Health",
    "Retail",
    "Bank",
    "Travel",
    "Foods",
    "Energy",
    "Media",
    "Insurance",
    "Telecom",
    "Pharmacy",
    "Mobility",
    "Games",
    "Academy",
    "Realty",
    "Couriers",
)
# Special accounts (when there are at least MIN_TENANTS_FOR_SPECIALS): day of the month.
ACTIVATED_17TH = 1  # sample tenant 1 is activated on the 17th
ACTIVATED_9TH = 2  # sample tenant 2 on the 9th
DEACTIVATED_20TH = 3  # sample tenant 3 is deactivated on the 20th (last active day: the 19th)
TIER_CHANGE_12TH = 4  # sample tenant 4 moves from starter to business on the 12th
ACTIVATED_24TH = 5  # sample tenant 5 is activated on the 24th (from 30 tenants on)
MIN_TENANTS_FOR_SPECIALS = 8


@dataclass(frozen=True)
class SampleAccount:
    """One sample tenant account and its tier history."""

    index: int
    tenant_id: uuid.UUID
    name: str
    currency: str
    billing_email: str
    activated_on: date
    deactivated_on: date | None
    tiers: tuple[tuple[date, str], ...]  # (effective_from, account_tier), oldest first
    address: str = ""  # postal address (one line here; the import also takes several)
    country: str = ""  # ISO 3166-1 alpha-2
    tax_id: str = ""
    payment_terms_days: int = 30

    def active_on(self, day: date) -> bool:
        """Active on `day`: activated_on <= day < deactivated_on."""
        return self.activated_on <= day and (
            self.deactivated_on is None or day < self.deactivated_on
        )


def parse_month(text: str) -> date:
    """The first day of a YYYY-MM month."""
    return Period.parse(text).start


def month_days(first: date) -> list[date]:
    """Every day of the month starting on `first`."""
    days = calendar.monthrange(first.year, first.month)[1]
    return [first + timedelta(days=offset) for offset in range(days)]


# Where sample customers are, by billing currency: (country, street, postcode and city).
_PLACES = {
    "EUR": (
        ("DE", "Hafenstraße", "20457 Hamburg"),
        ("FR", "rue des Lilas", "75011 Paris"),
        ("ES", "Calle Mayor", "28013 Madrid"),
        ("IT", "Via Roma", "20121 Milano"),
    ),
    "USD": (("US", "Market Street", "San Francisco, CA 94103"),),
    "GBP": (("GB", "Harbour Road", "Bristol BS1 4RN"),),
}


def _postal(currency: str, index: int, seed: int) -> tuple[str, str, str, int]:
    """A made-up address, country, tax id and payment terms (their own random stream, so the
    accounts' other fields stay what they were before addresses existed)."""
    rng = random.Random(f"address-{seed}-{index}")  # noqa: S311 (sample data)
    country, street, city = rng.choice(_PLACES[currency])
    number = rng.randint(1, 120)
    address = f"{street} {number}" if country in ("DE", "ES", "IT") else f"{number} {street}"
    tax_id = "" if country == "US" else f"{country}{rng.randint(100_000_000, 999_999_999)}"
    return f"{address}, {city}", country, tax_id, rng.choice((30, 30, 30, 14, 45))


def sample_accounts(tenants: int, month: date, seed: int = 0) -> list[SampleAccount]:
    """Deterministic sample accounts for sample tenants 0..tenants-1, for `month`.

    Most are active all month; with at least 8 tenants, tenant 1 is activated on the 17th,
    tenant 2 on the 9th, tenant 3 deactivated on the 20th, tenant 4 changes tier on the 12th
    (and with 30 or more, tenant 5 is activated on the 24th).
    """
    accounts = []
    for index in range(tenants):
        rng = random.Random(f"account-{seed}-{index}")  # noqa: S311 (sample data)
        currency = rng.choices(CURRENCIES, CURRENCY_WEIGHTS)[0]
        tier = rng.choices(TIERS, TIER_WEIGHTS)[0]
        activated_on = month - timedelta(days=rng.randint(30, 900))
        deactivated_on = None
        tiers = [(activated_on, tier)]
        specials = tenants >= MIN_TENANTS_FOR_SPECIALS
        activation_day = {ACTIVATED_17TH: 17, ACTIVATED_9TH: 9}.get(index) if specials else None
        if index == ACTIVATED_24TH and tenants >= 30:
            activation_day = 24
        if activation_day is not None:
            activated_on = month.replace(day=activation_day)
            tiers = [(activated_on, tier)]
        elif specials and index == DEACTIVATED_20TH:
            deactivated_on = month.replace(day=20)
        elif specials and index == TIER_CHANGE_12TH:
            tiers = [(activated_on, "starter"), (month.replace(day=12), "business")]
        first = _NAME_FIRST[index % len(_NAME_FIRST)]
        second = _NAME_SECOND[(index // len(_NAME_FIRST)) % len(_NAME_SECOND)]
        slug = f"{first}-{second}-{index:05d}".lower()
        address, country, tax_id, terms = _postal(currency, index, seed)
        accounts.append(
            SampleAccount(
                index=index,
                tenant_id=sample_tenant_id(index),
                name=f"{first} {second} {index:05d}",
                currency=currency,
                billing_email=f"billing@{slug}.example",
                activated_on=activated_on,
                deactivated_on=deactivated_on,
                tiers=tuple(tiers),
                address=address,
                country=country,
                tax_id=tax_id,
                payment_terms_days=terms,
            )
        )
    return accounts


ACCOUNT_COLUMNS = (
    "tenant_id",
    "name",
    "currency",
    "billing_email",
    "activated_on",
    "deactivated_on",
    "address",
    "country",
    "tax_id",
    "payment_terms_days",
)
TIER_COLUMNS = ("tenant_id", "account_tier", "effective_from")


def write_reference_csvs(accounts: list[SampleAccount], out_dir: Path) -> tuple[Path, Path]:
    """Write accounts.csv and account_tiers.csv (the import formats) into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    accounts_path = out_dir / "accounts.csv"
    tiers_path = out_dir / "account_tiers.csv"
    with accounts_path.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(ACCOUNT_COLUMNS)
        for account in accounts:
            writer.writerow(
                (
                    account.tenant_id,
                    account.name,
                    account.currency,
                    account.billing_email,
                    account.activated_on.isoformat(),
                    account.deactivated_on.isoformat() if account.deactivated_on else "",
                    account.address,
                    account.country,
                    account.tax_id,
                    account.payment_terms_days,
                )
            )
    with tiers_path.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(TIER_COLUMNS)
        for account in accounts:
            for effective_from, tier in account.tiers:
                writer.writerow((account.tenant_id, tier, effective_from.isoformat()))
    return accounts_path, tiers_path


# --- Sample charge events (billing.message.charged.v1) ---------------------------------------

OPERATOR_WEIGHTS = (0.16, 0.12, 0.13, 0.1, 0.1, 0.08, 0.09, 0.06, 0.09, 0.07)
OUTBOUND_SHARE = 0.8
DUPLICATE_RATE = 0.001  # share of messages that re-publish an earlier event, byte for byte
_CAMPAIGNS = ("welcome", "otp", "autumn-sale", "reminder", "alerts")


def _segments(rng: random.Random) -> int:
    draw = rng.random()
    if draw < 0.62:
        return 1
    if draw < 0.84:
        return 2
    if draw < 0.93:
        return 3
    return min(1000, 3 + int(rng.paretovariate(1.3)))  # the long tail of concatenated SMS


def sample_events(
    month: date, events: int, tenants: int, seed: int = 0, duplicate_rate: float = DUPLICATE_RATE
) -> Iterator[bytes]:
    """`events` charge events (JSON bytes, one per message) spread over `month`.

    Deterministic for a seed. Each tenant's events fall on the days it is active (per
    `sample_accounts`); tenants have skewed volumes, weekends are quieter, operators and
    directions vary, segments are mostly 1-3 with a long tail, country and attributes are
    sometimes present, a few events carry a +02:00 offset, and about `duplicate_rate` of the
    messages re-publish an earlier event byte for byte (same event_id).
    """
    if events <= 0 or tenants <= 0:
        return
    accounts = sample_accounts(tenants, month, seed)
    rng = random.Random(f"events-{seed}-{month.isoformat()}-{events}-{tenants}")  # noqa: S311
    volume = [1.0 / (rank + 1) ** 0.8 for rank in range(tenants)]
    rng.shuffle(volume)
    days = month_days(month)
    day_weights = [0.6 if day.weekday() >= 5 else 1.0 for day in days]
    per_day = _split(events, day_weights)
    operators = tuple(OPERATORS)
    offset = timezone(timedelta(hours=2))
    emitted = 0
    for day, count in zip(days, per_day, strict=True):
        active = [account for account in accounts if account.active_on(day)]
        if not active or not count:
            continue
        weights = [volume[account.index] for account in active]
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        instants = sorted(rng.randrange(86_400_000) for _ in range(count))
        recent: list[bytes] = []
        for millis in instants:
            if recent and rng.random() < duplicate_rate:
                yield rng.choice(recent)
                emitted += 1
                continue
            account = rng.choices(active, weights)[0]
            operator = rng.choices(operators, OPERATOR_WEIGHTS)[0]
            moment = start + timedelta(milliseconds=millis)
            event: dict[str, object] = {
                "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "event_type": "billing.message.charged.v1",
                "occurred_at": (
                    moment.astimezone(offset).isoformat(timespec="milliseconds")
                    if rng.random() < 0.03
                    else moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"
                ),
                "tenant_id": str(account.tenant_id),
                "message_id": f"m-{rng.getrandbits(64):016x}",
                "operator_id": operator,
                "direction": "outbound" if rng.random() < OUTBOUND_SHARE else "inbound",
                "segments": _segments(rng),
            }
            if rng.random() < 0.85:
                event["country"] = OPERATORS[operator]
            if rng.random() < 0.25:
                event["attributes"] = {"campaign": rng.choice(_CAMPAIGNS), "channel": "sms"}
            payload = orjson.dumps(event)
            if len(recent) < 64:
                recent.append(payload)
            else:
                recent[rng.randrange(64)] = payload
            yield payload
            emitted += 1


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, largest remainders first (sums exactly)."""
    scale = total / sum(weights)
    shares = [weight * scale for weight in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts
