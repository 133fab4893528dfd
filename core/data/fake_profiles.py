"""Fake people and places that hold together within a row.

A row's faked name, e-mail and username belong to one made-up person (the e-mail's local
part is that person's first and last name), and its city, state and ZIP code to one place
(a ZIP inside the state's range, a real city of that state). When the state column is
modelled rather than faked, the faked city and ZIP follow the state the model drew.

Which columns play which role comes from their fake kind and, for usernames and for
telling two people apart (``customer_name`` and ``agent_name``), from the column names.
Everything is drawn from seeded numpy streams and small pools, vectorised, like
``core.data.fake_values``.
"""

from __future__ import annotations

import functools
import re
import zlib

import numpy as np
import pandas as pd

__all__ = [
    "faker_pool",
    "PERSON_KINDS",
    "PLACE_KINDS",
    "fake_groups",
    "fake_people",
    "fake_places",
    "modelled_state_column",
    "state_index",
    "street_lines",
    "tokens",
]

#: Fake kinds that describe a person.
PERSON_KINDS = frozenset({"name", "first_name", "last_name", "email"})
#: Fake kinds that describe a place.
PLACE_KINDS = frozenset({"city", "administrative_unit", "postcode", "address"})
_USERNAME_TOKENS = frozenset({"username", "user", "login", "handle", "nickname", "screenname"})
_USERNAME_FROM_KINDS = frozenset({"name", "first_name", "last_name", "sentence"})
_ROLE_WORDS = frozenset({
    "name", "names", "first", "last", "full", "given", "family", "surname", "forename", "email",
    "mail", "e", "address", "addr", "user", "username", "login", "handle", "nickname",
    "screenname", "city", "town", "state", "province", "region", "zip", "zipcode", "postcode",
    "postal", "code", "abbr", "abbreviation", "st",
})
_ABBREVIATION_TOKENS = frozenset({"abbr", "abbreviation", "code", "st"})
_EMAIL_DOMAINS = np.array(["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com",
                           "icloud.com", "protonmail.com", "mail.com"], dtype=object)
_NOT_LETTERS = re.compile(r"[^a-z]")

# State: (name, people in millions (2020 census, rounded), some of its real cities).
_STATES: dict[str, tuple[str, float, str]] = {
    "AL": ("Alabama", 5.0, "Birmingham|Montgomery|Huntsville|Mobile|Tuscaloosa"),
    "AK": ("Alaska", 0.7, "Anchorage|Fairbanks|Juneau|Wasilla|Sitka"),
    "AZ": ("Arizona", 7.2, "Phoenix|Tucson|Mesa|Chandler|Scottsdale|Flagstaff"),
    "AR": ("Arkansas", 3.0, "Little Rock|Fort Smith|Fayetteville|Jonesboro|Conway"),
    "CA": ("California", 39.5, "Los Angeles|San Diego|San Jose|San Francisco|Fresno|"
                               "Sacramento|Oakland|Long Beach"),
    "CO": ("Colorado", 5.8, "Denver|Colorado Springs|Aurora|Fort Collins|Boulder"),
    "CT": ("Connecticut", 3.6, "Bridgeport|New Haven|Hartford|Stamford|Waterbury"),
    "DE": ("Delaware", 1.0, "Wilmington|Dover|Newark|Middletown|Smyrna"),
    "DC": ("District of Columbia", 0.7, "Washington"),
    "FL": ("Florida", 21.5, "Jacksonville|Miami|Tampa|Orlando|St. Petersburg|Tallahassee"),
    "GA": ("Georgia", 10.7, "Atlanta|Augusta|Columbus|Savannah|Athens|Macon"),
    "HI": ("Hawaii", 1.5, "Honolulu|Hilo|Kailua|Pearl City|Waipahu"),
    "ID": ("Idaho", 1.8, "Boise|Meridian|Nampa|Idaho Falls|Pocatello"),
    "IL": ("Illinois", 12.8, "Chicago|Aurora|Naperville|Joliet|Rockford|Springfield"),
    "IN": ("Indiana", 6.8, "Indianapolis|Fort Wayne|Evansville|South Bend|Bloomington"),
    "IA": ("Iowa", 3.2, "Des Moines|Cedar Rapids|Davenport|Sioux City|Iowa City"),
    "KS": ("Kansas", 2.9, "Wichita|Overland Park|Kansas City|Topeka|Olathe"),
    "KY": ("Kentucky", 4.5, "Louisville|Lexington|Bowling Green|Owensboro|Covington"),
    "LA": ("Louisiana", 4.7, "New Orleans|Baton Rouge|Shreveport|Lafayette|Lake Charles"),
    "ME": ("Maine", 1.4, "Portland|Lewiston|Bangor|South Portland|Auburn"),
    "MD": ("Maryland", 6.2, "Baltimore|Columbia|Germantown|Silver Spring|Frederick"),
    "MA": ("Massachusetts", 7.0, "Boston|Worcester|Springfield|Cambridge|Lowell"),
    "MI": ("Michigan", 10.1, "Detroit|Grand Rapids|Warren|Ann Arbor|Lansing"),
    "MN": ("Minnesota", 5.7, "Minneapolis|St. Paul|Rochester|Duluth|Bloomington"),
    "MS": ("Mississippi", 3.0, "Jackson|Gulfport|Southaven|Hattiesburg|Biloxi"),
    "MO": ("Missouri", 6.2, "Kansas City|St. Louis|Springfield|Columbia|Independence"),
    "MT": ("Montana", 1.1, "Billings|Missoula|Great Falls|Bozeman|Helena"),
    "NE": ("Nebraska", 2.0, "Omaha|Lincoln|Bellevue|Grand Island|Kearney"),
    "NV": ("Nevada", 3.1, "Las Vegas|Henderson|Reno|North Las Vegas|Sparks"),
    "NH": ("New Hampshire", 1.4, "Manchester|Nashua|Concord|Dover|Rochester"),
    "NJ": ("New Jersey", 9.3, "Newark|Jersey City|Paterson|Elizabeth|Trenton"),
    "NM": ("New Mexico", 2.1, "Albuquerque|Las Cruces|Rio Rancho|Santa Fe|Roswell"),
    "NY": ("New York", 20.2, "New York|Buffalo|Rochester|Yonkers|Syracuse|Albany"),
    "NC": ("North Carolina", 10.4, "Charlotte|Raleigh|Greensboro|Durham|Winston-Salem"),
    "ND": ("North Dakota", 0.8, "Fargo|Bismarck|Grand Forks|Minot|West Fargo"),
    "OH": ("Ohio", 11.8, "Columbus|Cleveland|Cincinnati|Toledo|Akron|Dayton"),
    "OK": ("Oklahoma", 4.0, "Oklahoma City|Tulsa|Norman|Broken Arrow|Edmond"),
    "OR": ("Oregon", 4.2, "Portland|Salem|Eugene|Gresham|Bend"),
    "PA": ("Pennsylvania", 13.0, "Philadelphia|Pittsburgh|Allentown|Erie|Reading|Scranton"),
    "RI": ("Rhode Island", 1.1, "Providence|Warwick|Cranston|Pawtucket|Newport"),
    "SC": ("South Carolina", 5.1, "Charleston|Columbia|North Charleston|Greenville|Rock Hill"),
    "SD": ("South Dakota", 0.9, "Sioux Falls|Rapid City|Aberdeen|Brookings|Watertown"),
    "TN": ("Tennessee", 6.9, "Nashville|Memphis|Knoxville|Chattanooga|Clarksville"),
    "TX": ("Texas", 29.1, "Houston|San Antonio|Dallas|Austin|Fort Worth|El Paso|Arlington"),
    "UT": ("Utah", 3.3, "Salt Lake City|West Valley City|Provo|West Jordan|Orem|Ogden"),
    "VT": ("Vermont", 0.6, "Burlington|South Burlington|Rutland|Barre|Montpelier"),
    "VA": ("Virginia", 8.6, "Virginia Beach|Norfolk|Chesapeake|Richmond|Arlington"),
    "WA": ("Washington", 7.7, "Seattle|Spokane|Tacoma|Vancouver|Bellevue|Olympia"),
    "WV": ("West Virginia", 1.8, "Charleston|Huntington|Morgantown|Parkersburg|Wheeling"),
    "WI": ("Wisconsin", 5.9, "Milwaukee|Madison|Green Bay|Kenosha|Racine"),
    "WY": ("Wyoming", 0.6, "Cheyenne|Casper|Laramie|Gillette|Rock Springs"),
}


def tokens(name: str) -> list[str]:
    """The lower-case words of a column name (``billingZip`` -> billing, zip)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [token for token in re.split(r"[^a-zA-Z]+", spaced.lower()) if token]


def _role(column: str, kind: str) -> str | None:
    """``person``, ``place`` or None (a column faked on its own)."""
    if kind in _USERNAME_FROM_KINDS and set(tokens(column)) & _USERNAME_TOKENS:
        return "person"
    if kind in PERSON_KINDS:
        return "person"
    if kind in PLACE_KINDS:
        return "place"
    return None


def fake_groups(specs: list[tuple[str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Group faked columns into people and places; one group per owner of the columns.

    ``customer_name`` and ``customer_email`` share an owner (``customer``); ``agent_name``
    is someone else. Columns without an owner word (``email``) join the first group of
    their role unless it already has a column of their kind.

    Returns:
        ``(role, specs)`` per group, in column order.
    """
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    unowned: dict[str, list[tuple[str, str]]] = {}
    for column, kind in specs:
        role = _role(column, kind)
        if role is None:
            continue
        owner = " ".join(t for t in tokens(column) if t not in _ROLE_WORDS)
        if owner:
            groups.setdefault((role, owner), []).append((column, kind))
        else:
            unowned.setdefault(role, []).append((column, kind))
    for role, columns in unowned.items():
        first = next((key for key in groups if key[0] == role), None)
        kinds = {kind for _, kind in columns}
        if first is not None and not kinds & {kind for _, kind in groups[first]}:
            groups[first] = columns + groups[first]
        else:  # "name" beside "agent_name": two people
            groups[(role, "")] = columns
    return [(role, columns) for (role, _owner), columns in groups.items()]


def _stream(seed: int, columns: list[tuple[str, str]]) -> tuple[np.random.Generator, int]:
    key = zlib.crc32("|".join(f"{c}:{k}" for c, k in sorted(columns)).encode())
    sequence = np.random.SeedSequence([int(seed), key, 1])
    return np.random.default_rng(sequence), int(sequence.generate_state(1)[0])


@functools.lru_cache(maxsize=32)
def faker_pool(seed: int, method: str, size: int) -> tuple[str, ...]:
    """``size`` values of Faker's ``method`` for ``seed`` (~0.1 ms each; cached: pure)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    make = getattr(fake, method)
    return tuple(str(make()) for _ in range(size))


def _pool(seed: int, method: str, size: int = 1000) -> np.ndarray:
    return np.array(faker_pool(seed, method, size), dtype=object)


@functools.lru_cache(maxsize=16)
def _name_pool(seed: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """1,000 Faker names and their lower-case letters-only form (for e-mails)."""
    names = _pool(seed, method)
    clean = [_NOT_LETTERS.sub("", name.lower()) or "x" for name in names]
    return names, np.array(clean, dtype=object)


def _join(*parts: np.ndarray | str) -> np.ndarray:
    """Row-wise string concatenation of arrays and literals (at least one array)."""
    result: pd.Series | str = parts[0] if isinstance(parts[0], str) else pd.Series(
        parts[0], dtype=object)
    for part in parts[1:]:
        result = result + (part if isinstance(part, str) else pd.Series(part, dtype=object))
    return np.asarray(result, dtype=object)


def street_lines(rng: np.random.Generator, faker_seed: int, n: int) -> np.ndarray:
    """Street lines such as ``4821 Maple Street Apt. 12``."""
    streets = _pool(faker_seed % 2**31, "street_name", 1500)
    numbers = rng.integers(1, 10_000, n).astype(str).astype(object)
    flats = rng.integers(1, 999, n).astype(str).astype(object)
    apartment = np.where(rng.random(n) < 0.2, _join(" Apt. ", flats), "")
    return _join(numbers, " ", streets[rng.integers(0, streets.size, n)], apartment)


def fake_people(columns: list[tuple[str, str]], n: int, seed: int) -> dict[str, np.ndarray]:
    """One made-up person per row for every column of ``columns`` (a person group)."""
    rng, faker_seed = _stream(seed, columns)
    firsts, firsts_clean = _name_pool(faker_seed % 2**31, "first_name")
    lasts, lasts_clean = _name_pool((faker_seed + 1) % 2**31, "last_name")
    first_pick, last_pick = rng.integers(0, 1000, n), rng.integers(0, 1000, n)
    first, last = firsts[first_pick], lasts[last_pick]
    first_low, last_low = firsts_clean[first_pick], lasts_clean[last_pick]
    numbers = rng.integers(1, 100, n).astype(str).astype(object)
    with_number = rng.random(n) < 0.5
    style = rng.integers(0, 3, n)
    separator = np.array([".", "_", ""], dtype=object)[style]
    suffix = np.where(with_number, numbers, "")
    local = _join(first_low, separator, last_low, suffix)
    domain = _EMAIL_DOMAINS[rng.integers(0, _EMAIL_DOMAINS.size, n)]
    initial = np.array([name[0] for name in first_low], dtype=object)
    user_style = rng.random(n) < 0.5
    username = np.where(user_style, _join(initial, last_low, suffix),
                        _join(first_low, last_low, suffix))
    values: dict[str, np.ndarray] = {}
    for column, kind in columns:
        if kind == "first_name":
            values[column] = first.copy()
        elif kind == "last_name":
            values[column] = last.copy()
        elif kind == "email":
            values[column] = _join(local, "@", domain)
        elif kind == "name" and not set(tokens(column)) & _USERNAME_TOKENS:
            values[column] = _join(first, " ", last)
        else:
            values[column] = username.copy()
    return values


@functools.lru_cache(maxsize=1)
def _state_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                             np.ndarray, np.ndarray]:
    """Abbreviations, names, shares, ZIP ranges and a padded city table of the states."""
    from faker.providers.address.en_US import Provider

    abbreviations = np.array(list(_STATES), dtype=object)
    names = np.array([_STATES[a][0] for a in abbreviations], dtype=object)
    people = np.array([_STATES[a][1] for a in abbreviations])
    low = np.array([Provider.states_postcode[a][0] for a in abbreviations])
    high = np.array([Provider.states_postcode[a][1] for a in abbreviations])
    city_lists = [_STATES[a][2].split("|") for a in abbreviations]
    counts = np.array([len(cities) for cities in city_lists])
    table = np.full((len(city_lists), counts.max()), "", dtype=object)
    for row, cities in enumerate(city_lists):
        table[row, : len(cities)] = cities
    return abbreviations, names, people / people.sum(), low, high, table, counts


def state_index(values: pd.Series) -> np.ndarray:
    """Index of each value's US state (abbreviation or name, any case); -1 if none."""
    abbreviations, names, *_ = _state_tables()
    lookup = {str(a).lower(): i for i, a in enumerate(abbreviations)}
    lookup.update({str(name).lower(): i for i, name in enumerate(names)})
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()
    return text.map(lookup).fillna(-1).astype(int).to_numpy()


def modelled_state_column(frame: pd.DataFrame) -> str | None:
    """A sampled column named like a state whose values are mostly US states."""
    for column in frame.columns:
        if not set(tokens(str(column))) & {"state", "province"}:
            continue
        values = frame[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        known = state_index(values.head(500)) >= 0
        if known.size and known.mean() >= 0.5:
            return str(column)
    return None


def fake_places(columns: list[tuple[str, str]], n: int, seed: int,
                states: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """One US place per row (state, a city of it, a ZIP in it) for a place group.

    Args:
        columns: The group's ``(column, kind)``.
        n: Rows.
        seed: Seed.
        states: Each row's state index (from a modelled state column; -1 = unknown), or
            None to draw states in proportion to their population.
    """
    abbreviations, names, shares, low, high, cities, counts = _state_tables()
    rng, faker_seed = _stream(seed, columns)
    drawn = rng.choice(len(abbreviations), size=n, p=shares)
    state = drawn if states is None else np.where(states >= 0, states, drawn)
    city = cities[state, (rng.random(n) * counts[state]).astype(int)]
    zips = rng.integers(low[state], high[state] + 1).astype(str)
    zips = np.char.zfill(zips, 5).astype(object)
    values: dict[str, np.ndarray] = {}
    for column, kind in columns:
        if kind == "city":
            values[column] = city.copy()
        elif kind == "postcode":
            values[column] = zips.copy()
        elif kind == "administrative_unit":
            short = set(tokens(column)) & _ABBREVIATION_TOKENS
            values[column] = (abbreviations if short else names)[state].copy()
        else:  # a full address: a street line, then this row's city, state and ZIP
            street = street_lines(rng, faker_seed, n)
            values[column] = _join(street, ", ", city, ", ", abbreviations[state], " ", zips)
    return values
