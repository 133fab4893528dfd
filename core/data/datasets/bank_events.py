"""The ``bank_events`` sample: bank account event histories with a structuring pattern.

One row per event of an account: the account's context (type, opening channel, customer
segment and the account-level flag ``structuring``) repeated on each of its rows, then the
event (``account_opening`` first, then deposits, card purchases, ATM withdrawals and
transfers in and out) with its amount, channel and time. Event types follow a Markov chain
per account type (a salary coming in is often followed by a transfer out; an ATM withdrawal
by card purchases), amounts depend on the event and the account type, times of day on the
event (branch deposits in opening hours, card purchases in the day and evening).

About 5 % of accounts are flagged ``structuring``, the laundering-like pattern of anti-money-
laundering rules: one or two bursts of 5 to 10 cash deposits just under the 10,000 reporting
threshold within a few days, followed by a large transfer out of most of that money. Other
accounts rarely make a deposit between 9,000 and 10,000.

Times are naive (no zone): the bank's local time, to the second, from 2023 to 2024. Only
numpy draws from the seed, so the same :class:`BankEventsSpec` gives the same table byte
for byte on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.datasets.machinery import _Column as _C
from core.data.datasets.machinery import _rng
from core.data.schema import SequenceSpec

__all__ = [
    "BANK_EVENTS_COLUMNS",
    "BANK_EVENTS_RELATIONS",
    "BANK_EVENTS_SEQUENCE",
    "REPORTING_THRESHOLD",
    "BankEventsSpec",
    "bank_events_dataset",
]

#: Cash deposits at or above this amount are reported to the authorities.
REPORTING_THRESHOLD = 10_000.0

EVENTS = ("account_opening", "deposit", "card_purchase", "atm_withdrawal", "transfer_in",
          "transfer_out")
_START = np.datetime64("2023-01-01T00:00:00")
_END = np.datetime64("2025-01-01T00:00:00")
_SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class BankEventsSpec:
    """What :func:`bank_events_dataset` makes.

    Attributes:
        accounts: Number of accounts.
        structuring_rate: Share of accounts with the structuring pattern.
        seed: Random seed; the same spec always gives the same rows.
    """

    accounts: int = 600
    structuring_rate: float = 0.05
    seed: int = 2024


BANK_EVENTS_COLUMNS: tuple[_C, ...] = (
    _C("account_id", "text", "Entity key: the account (A followed by six digits)."),
    _C("timestamp", "datetime", "When the event happened (bank's local time, no zone), "
       "2023-2024; orders each account's events."),
    _C("event", "category", "account_opening (always first), deposit, card_purchase, "
       "atm_withdrawal, transfer_in or transfer_out."),
    _C("amount", "float", "Amount of the event (the first deposit for account_opening)."),
    _C("channel", "category", "branch, atm, card_terminal, online or mobile."),
    _C("account_type", "category", "Context: personal or business."),
    _C("opening_channel", "category", "Context: where the account was opened (branch, "
       "online, mobile)."),
    _C("customer_segment", "category", "Context: student, retail, mass_affluent, private "
       "(personal) or small_business, commercial (business)."),
    _C("structuring", "bool", "Context and target: the account shows the structuring pattern "
       "(about 5 %)."),
)

BANK_EVENTS_SEQUENCE = SequenceSpec(
    key="account_id", index="timestamp",
    context=("account_type", "opening_channel", "customer_segment", "structuring"),
)

BANK_EVENTS_RELATIONS: tuple[str, ...] = (
    "every account's first event is account_opening, on its opening day",
    "structuring accounts: one or two bursts of 5-10 cash deposits of 8,800-9,990 within "
    "2-5 days, then a transfer_out of 85-98 % of the burst 1-3 days later",
    "business accounts: more and larger deposits and transfers, fewer card purchases",
    "event types follow a Markov chain (transfer_in -> transfer_out, atm_withdrawal -> "
    "card_purchase more often than by chance)",
    "channel follows the event (card_purchase: card_terminal or online; atm_withdrawal: atm)",
)

# Markov chain over the five regular events (rows: previous event, in EVENTS[1:] order).
_TRANSITIONS = {
    "personal": np.array([
        [0.10, 0.45, 0.15, 0.10, 0.20],  # after deposit
        [0.08, 0.50, 0.15, 0.10, 0.17],  # after card_purchase
        [0.05, 0.60, 0.15, 0.08, 0.12],  # after atm_withdrawal
        [0.05, 0.35, 0.20, 0.05, 0.35],  # after transfer_in
        [0.10, 0.45, 0.15, 0.15, 0.15],  # after transfer_out
    ]),
    "business": np.array([
        [0.30, 0.20, 0.05, 0.20, 0.25],
        [0.25, 0.30, 0.05, 0.20, 0.20],
        [0.25, 0.35, 0.10, 0.15, 0.15],
        [0.15, 0.20, 0.05, 0.15, 0.45],
        [0.30, 0.25, 0.05, 0.25, 0.15],
    ]),
}
_SEGMENTS = {
    "personal": (("student", "retail", "mass_affluent", "private"), (0.2, 0.5, 0.22, 0.08)),
    "business": (("small_business", "commercial"), (0.75, 0.25)),
}
_OPENING = {"personal": (0.3, 0.35, 0.35), "business": (0.6, 0.3, 0.1)}
_OPENING_CHANNELS = ("branch", "online", "mobile")
# (median, spread of the log) of amounts by event, personal / business.
_AMOUNTS = {
    "deposit": ((600.0, 0.9), (1800.0, 0.8)),
    "card_purchase": ((45.0, 1.0), (120.0, 1.0)),
    "transfer_in": ((2800.0, 0.4), (8000.0, 0.9)),
    "transfer_out": ((900.0, 1.0), (3500.0, 1.0)),
    "account_opening": ((200.0, 1.0), (1500.0, 1.0)),
}
_ATM_AMOUNTS = np.array([20, 40, 60, 80, 100, 200, 300, 500], dtype=float)
_ATM_WEIGHTS = np.array([0.1, 0.15, 0.1, 0.1, 0.25, 0.2, 0.06, 0.04])
# Hours of the day (lowest, highest) by event.
_HOURS = {"account_opening": (9, 17), "deposit": (9, 17), "card_purchase": (8, 22),
          "atm_withdrawal": (7, 23), "transfer_in": (0, 24), "transfer_out": (6, 23)}


def bank_events_dataset(spec: BankEventsSpec | None = None) -> pd.DataFrame:
    """Make the bank account event histories (sorted by account, then time).

    Args:
        spec: The settings (the shipped sample's by default).

    Returns:
        The event table with the columns of :data:`BANK_EVENTS_COLUMNS`.
    """
    spec = spec or BankEventsSpec()
    rng = _rng(spec.seed, "bank_events:accounts")
    n = spec.accounts
    ids = rng.choice(np.arange(100_000, 1_000_000), size=n, replace=False)
    ids.sort()
    business = rng.random(n) < 0.22
    weights = np.where(business, 2.0, 1.0)
    flagged = rng.choice(n, size=round(spec.structuring_rate * n), replace=False,
                         p=weights / weights.sum())
    structuring = np.zeros(n, dtype=bool)
    structuring[flagged] = True
    events_rng = _rng(spec.seed, "bank_events:events")
    rows: list[tuple[object, ...]] = []
    for position in range(n):
        kind = "business" if business[position] else "personal"
        segments, shares = _SEGMENTS[kind]
        context = {
            "account_id": f"A{ids[position]}",
            "account_type": kind,
            "opening_channel": _OPENING_CHANNELS[rng.choice(3, p=_OPENING[kind])],
            "customer_segment": segments[rng.choice(len(segments), p=shares)],
            "structuring": bool(structuring[position]),
        }
        values = tuple(context.values())
        rows += [event + values for event in
                 _account_events(events_rng, kind, context, bool(structuring[position]))]
    table = pd.DataFrame(rows, columns=["timestamp", "event", "amount", "channel",
                                        "account_id", "account_type", "opening_channel",
                                        "customer_segment", "structuring"])
    table["timestamp"] = table["timestamp"].astype("datetime64[ns]")
    table = table.sort_values(["account_id", "timestamp"], kind="stable", ignore_index=True)
    return table[[c.name for c in BANK_EVENTS_COLUMNS]]


def _amount(rng: np.random.Generator, event: str, kind: str) -> float:
    if event == "atm_withdrawal":
        return float(rng.choice(_ATM_AMOUNTS, p=_ATM_WEIGHTS))
    median, spread = _AMOUNTS[event][kind == "business"]
    value = median * np.exp(spread * rng.standard_normal())
    while event == "deposit" and kind == "personal" and value > 8_000.0:
        # A person's ordinary cash deposits stay well below the reporting threshold.
        value = median * np.exp(spread * rng.standard_normal())
    return round(float(value), 2)


def _channel(rng: np.random.Generator, event: str, opening: str) -> str:
    if event == "account_opening":
        return opening
    if event == "card_purchase":
        return "card_terminal" if rng.random() < 0.7 else "online"
    if event == "atm_withdrawal":
        return "atm"
    if event == "deposit":
        return "branch" if rng.random() < 0.55 else "atm"
    return "mobile" if rng.random() < 0.55 else "online"


def _at(rng: np.random.Generator, day: np.datetime64, event: str) -> np.datetime64:
    low, high = _HOURS[event]
    seconds = int(rng.integers(low * 3600, high * 3600))
    return day + np.timedelta64(seconds, "s")


def _account_events(rng: np.random.Generator, kind: str, context: dict[str, object],
                    structuring: bool) -> list[tuple[np.datetime64, str, float, str]]:
    """One account's events: opening, a Markov chain of regular events, any bursts."""
    last_open = (_END - _START).astype("timedelta64[D]").astype(int) - 60
    open_day = _START + np.timedelta64(int(rng.integers(0, last_open)), "D")
    days_open = int((_END - open_day).astype("timedelta64[D]").astype(int))
    monthly = rng.gamma(2.0, 0.3) * (1.5 if kind == "business" else 1.0)
    regular = min(int(rng.poisson(monthly * days_open / 30.4)), 60)
    opening = str(context["opening_channel"])
    rows: list[tuple[np.datetime64, str, float, str]] = [
        (_at(rng, open_day, "account_opening"), "account_opening",
         _amount(rng, "account_opening", kind), opening),
    ]
    days = np.sort(rng.integers(1, days_open, size=regular))
    state = int(rng.integers(0, 5))
    matrix = _TRANSITIONS[kind]
    for day in days:
        state = int(rng.choice(5, p=matrix[state]))
        event = EVENTS[1 + state]
        rows.append((_at(rng, open_day + np.timedelta64(int(day), "D"), event), event,
                     _amount(rng, event, kind), _channel(rng, event, opening)))
    if structuring:
        for _ in range(1 + int(rng.random() < 0.3)):
            rows += _burst(rng, open_day, days_open)
    return rows


def _burst(rng: np.random.Generator, open_day: np.datetime64,
           days_open: int) -> list[tuple[np.datetime64, str, float, str]]:
    """Cash deposits just under the threshold within a few days, then a transfer out."""
    start = open_day + np.timedelta64(int(rng.integers(14, max(days_open - 10, 15))), "D")
    span = int(rng.integers(2, 6))
    count = int(rng.integers(5, 11))
    rows = []
    total = 0.0
    for offset in np.sort(rng.integers(0, span, size=count)):
        amount = float(rng.integers(880, 1000)) * 10.0  # 8,800 to 9,990
        total += amount
        channel = "branch" if rng.random() < 0.6 else "atm"
        rows.append((_at(rng, start + np.timedelta64(int(offset), "D"), "deposit"), "deposit",
                     amount, channel))
    out_day = start + np.timedelta64(span + int(rng.integers(1, 4)), "D")
    rows.append((_at(rng, out_day, "transfer_out"), "transfer_out",
                 round(total * float(rng.uniform(0.85, 0.98)), 2), "online"))
    return rows
