"""The ``customer_journeys`` sample: banking app and web sessions of customers, with churn.

One row per event: the customer's context (segment, sign-up channel and the flag
``churned``) repeated on each of their rows, then the event with its time, the number of
the session it belongs to, the channel (app or web, one per session) and how long it took.
A session starts with ``login``, goes through one to a few actions (``view_balance``,
``transfer``, ``pay_bill``, ``card_settings``, ``support_chat``) chosen by a Markov chain,
and usually ends with ``logout`` (else it timed out). Events of a session follow each other
by their duration plus a few seconds.

Customers who churn (about 20 %) behave differently: fewer sessions that stop early in the
half year (they left), more support chats and card-settings visits, fewer transfers. Students
and young professionals use the app; retirees the web, in fewer but longer sessions.

Times are naive (no zone), the first half of 2024 to the second. Only numpy draws from the
seed, so the same :class:`CustomerJourneysSpec` gives the same table byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.datasets.machinery import _Column as _C
from core.data.datasets.machinery import _rng
from core.data.schema import SequenceSpec

__all__ = [
    "CUSTOMER_JOURNEYS_COLUMNS",
    "CUSTOMER_JOURNEYS_RELATIONS",
    "CUSTOMER_JOURNEYS_SEQUENCE",
    "CustomerJourneysSpec",
    "customer_journeys_dataset",
]

ACTIONS = ("view_balance", "transfer", "pay_bill", "card_settings", "support_chat")
_START = np.datetime64("2024-01-01T00:00:00")
_DAYS = 182
_SEGMENTS = ("student", "young_professional", "family", "retiree")
_SEGMENT_SHARES = (0.2, 0.35, 0.3, 0.15)
_SIGNUP = ("app_store", "website", "branch")
_SIGNUP_SHARES = (0.45, 0.4, 0.15)
# Per segment: mean sessions in the half year (staying customers), share of app sessions.
_USAGE = {"student": (8.0, 0.85), "young_professional": (8.0, 0.75),
          "family": (6.0, 0.55), "retiree": (4.0, 0.3)}
# First action after login, then the next action (rows: previous action), in ACTIONS order.
_FIRST = {False: np.array([0.6, 0.12, 0.15, 0.07, 0.06]),
          True: np.array([0.4, 0.06, 0.12, 0.17, 0.25])}
_NEXT = {False: np.array([[0.05, 0.40, 0.35, 0.12, 0.08],
                          [0.45, 0.20, 0.25, 0.05, 0.05],
                          [0.45, 0.20, 0.20, 0.08, 0.07],
                          [0.35, 0.10, 0.10, 0.15, 0.30],
                          [0.40, 0.10, 0.10, 0.30, 0.10]]),
         True: np.array([[0.05, 0.20, 0.25, 0.22, 0.28],
                         [0.40, 0.10, 0.20, 0.10, 0.20],
                         [0.40, 0.10, 0.15, 0.15, 0.20],
                         [0.25, 0.05, 0.05, 0.20, 0.45],
                         [0.30, 0.05, 0.05, 0.40, 0.20]])}
# Seconds an event takes: (median, spread of the log).
_DURATION = {"login": (9.0, 0.4), "view_balance": (25.0, 0.5), "transfer": (60.0, 0.4),
             "pay_bill": (75.0, 0.4), "card_settings": (45.0, 0.5),
             "support_chat": (300.0, 0.6), "logout": (2.0, 0.3)}


@dataclass(frozen=True)
class CustomerJourneysSpec:
    """What :func:`customer_journeys_dataset` makes.

    Attributes:
        customers: Number of customers.
        churn_rate: Share of customers who churn.
        seed: Random seed; the same spec always gives the same rows.
    """

    customers: int = 320
    churn_rate: float = 0.2
    seed: int = 2024


CUSTOMER_JOURNEYS_COLUMNS: tuple[_C, ...] = (
    _C("customer_id", "text", "Entity key: the customer (C followed by five digits)."),
    _C("event_time", "datetime", "When the event happened (no zone), January to June 2024; "
       "orders each customer's events."),
    _C("session_number", "int", "Which of the customer's sessions the event belongs to "
       "(1, 2, ...)."),
    _C("event", "category", "login, view_balance, transfer, pay_bill, card_settings, "
       "support_chat or logout."),
    _C("channel", "category", "app or web (the same within a session)."),
    _C("duration_seconds", "int", "How long the event took, in seconds."),
    _C("segment", "category", "Context: student, young_professional, family or retiree."),
    _C("signup_channel", "category", "Context: app_store, website or branch."),
    _C("churned", "bool", "Context and target: the customer left the bank (about 20 %)."),
)

CUSTOMER_JOURNEYS_SEQUENCE = SequenceSpec(
    key="customer_id", index="event_time", context=("segment", "signup_channel", "churned"),
)

CUSTOMER_JOURNEYS_RELATIONS: tuple[str, ...] = (
    "every session starts with login; about 80 % end with logout",
    "churners: about half the sessions, all before a last active day in the first 40-85 % "
    "of the half year; more support_chat and card_settings, fewer transfers",
    "students and young professionals mostly use the app, retirees the web",
    "churn is more likely for students and for website sign-ups",
    "support_chat takes minutes; the other events seconds",
)


def customer_journeys_dataset(spec: CustomerJourneysSpec | None = None) -> pd.DataFrame:
    """Make the customer journeys (sorted by customer, then time).

    Args:
        spec: The settings (the shipped sample's by default).

    Returns:
        The event table with the columns of :data:`CUSTOMER_JOURNEYS_COLUMNS`.
    """
    spec = spec or CustomerJourneysSpec()
    rng = _rng(spec.seed, "customer_journeys:customers")
    n = spec.customers
    ids = rng.choice(np.arange(10_000, 100_000), size=n, replace=False)
    ids.sort()
    segments = rng.choice(len(_SEGMENTS), size=n, p=_SEGMENT_SHARES)
    signup = rng.choice(len(_SIGNUP), size=n, p=_SIGNUP_SHARES)
    weights = (1.0 + 1.0 * (segments == 0)) * (1.0 + 0.8 * (signup == 1))
    churned = np.zeros(n, dtype=bool)
    churned[rng.choice(n, size=round(spec.churn_rate * n), replace=False,
                       p=weights / weights.sum())] = True
    events_rng = _rng(spec.seed, "customer_journeys:events")
    rows: list[tuple[object, ...]] = []
    for position in range(n):
        segment = _SEGMENTS[segments[position]]
        context = (f"C{ids[position]}", segment, _SIGNUP[signup[position]],
                   bool(churned[position]))
        rows += [event + context for event in
                 _customer_events(events_rng, segment, bool(churned[position]))]
    table = pd.DataFrame(rows, columns=["event_time", "session_number", "event", "channel",
                                        "duration_seconds", "customer_id", "segment",
                                        "signup_channel", "churned"])
    table["event_time"] = table["event_time"].astype("datetime64[ns]")
    for name in ("session_number", "duration_seconds"):
        table[name] = table[name].astype(np.int64)
    table = table.sort_values(["customer_id", "event_time"], kind="stable", ignore_index=True)
    return table[[c.name for c in CUSTOMER_JOURNEYS_COLUMNS]]


def _seconds(rng: np.random.Generator, event: str) -> int:
    median, spread = _DURATION[event]
    return max(1, round(median * float(np.exp(spread * rng.standard_normal()))))


def _customer_events(rng: np.random.Generator, segment: str,
                     churned: bool) -> list[tuple[np.datetime64, int, str, str, int]]:
    mean_sessions, app_share = _USAGE[segment]
    if churned:
        mean_sessions *= 0.5
        last_day = int(_DAYS * rng.uniform(0.4, 0.85))
        app_share *= 0.8
    else:
        last_day = _DAYS
    sessions = max(1, int(rng.poisson(mean_sessions)))
    minutes = np.sort(rng.choice(last_day * 24 * 60, size=sessions, replace=False))
    rows: list[tuple[np.datetime64, int, str, str, int]] = []
    free_at = _START
    for number, minute in enumerate(minutes, start=1):
        channel = "app" if rng.random() < app_share else "web"
        hour = int(rng.integers(7, 23) if channel == "app" else rng.integers(9, 19))
        day_start = _START + np.timedelta64(int(minute) // (24 * 60), "D")
        at = day_start + np.timedelta64(hour * 3600 + int(rng.integers(0, 3600)), "s")
        at = max(at, free_at + np.timedelta64(60, "s"))  # sessions never overlap
        actions = [ACTIONS[rng.choice(5, p=_FIRST[churned])]]
        extra = int(rng.geometric(0.5 if segment != "retiree" else 0.4)) - 1
        for _ in range(min(extra, 5)):
            previous = ACTIONS.index(actions[-1])
            actions.append(ACTIONS[rng.choice(5, p=_NEXT[churned][previous])])
        events = ["login", *actions] + (["logout"] if rng.random() < 0.8 else [])
        for event in events:
            duration = _seconds(rng, event)
            if segment == "retiree" and event not in ("login", "logout"):
                duration = round(duration * 1.4)
            rows.append((at, number, event, channel, duration))
            at = at + np.timedelta64(duration + int(rng.integers(2, 20)), "s")
        free_at = at
    return rows
