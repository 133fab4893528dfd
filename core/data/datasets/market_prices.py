"""The ``market_prices`` sample: daily prices of fictitious stocks, with option-style columns.

Each ticker's daily log return follows a GARCH(1,1) process (volatility clustering: calm
and stormy stretches) whose shocks share a market factor and a sector factor (so returns of
all tickers move together, those of one sector more so) plus the ticker's own fat-tailed
noise. The sectors differ in their long-run volatility (utilities calm, technology wild) and
trading volume, so the sector can be told from a ticker's history. Volume rises on days of
large moves. Every ticker trades on the same 250 days of 2024 (weekdays without the US
market holidays); 300 days are simulated before them so the first rows are already in a
settled state.

Option-style columns: the annualised realised volatility of the last 20 returns; a 30-day
implied volatility (mostly the realised one, pulled towards the sector's long-run level,
plus a risk premium and noise, as quoted volatilities behave); and the price of a 30-day
at-the-money call on one share, from Black-Scholes at that implied volatility with a 4.5 %
interest rate, so ``implied_vol_30d`` is exactly the volatility that prices the call.

The tickers are invented letter codes; no real company's prices are shown. Only numpy draws
from the seed, so the same :class:`MarketPricesSpec` gives the same table byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from core.data.datasets.machinery import _Column as _C
from core.data.datasets.machinery import _rng
from core.data.schema import SequenceSpec

__all__ = [
    "MARKET_PRICES_COLUMNS",
    "MARKET_PRICES_RELATIONS",
    "MARKET_PRICES_SEQUENCE",
    "MarketPricesSpec",
    "black_scholes_call",
    "market_prices_dataset",
    "trading_days",
]

#: Annual interest rate of the option prices.
RATE = 0.045
#: Days to expiry of the option (calendar days).
OPTION_DAYS = 30
_BURN_IN = 300
_REALISED_WINDOW = 20
_ALPHA, _BETA = 0.08, 0.90  # GARCH(1,1): reaction to yesterday's shock, persistence
_HOLIDAYS_2024 = ("2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19",
                  "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25")
# Sector: (long-run annual volatility, market loading, annual drift, typical daily volume).
_SECTORS = {
    "technology": (0.38, 0.60, 0.12, 4.0e6),
    "financials": (0.26, 0.60, 0.08, 2.5e6),
    "energy": (0.32, 0.45, 0.06, 1.8e6),
    "utilities": (0.16, 0.35, 0.04, 0.8e6),
}
_SECTOR_LOADING = 0.45


@dataclass(frozen=True)
class MarketPricesSpec:
    """What :func:`market_prices_dataset` makes.

    Attributes:
        tickers_per_sector: Tickers in each of the four sectors.
        days: Trading days shown (from 2 January 2024).
        seed: Random seed; the same spec always gives the same rows.
    """

    tickers_per_sector: int = 7
    days: int = 250
    seed: int = 2024


MARKET_PRICES_COLUMNS: tuple[_C, ...] = (
    _C("ticker", "text", "Entity key: an invented stock symbol (3 or 4 letters)."),
    _C("date", "date", "Trading day of 2024 (the same 250 days for every ticker); orders "
       "each ticker's rows."),
    _C("sector", "category", "Context and target: technology, financials, energy or "
       "utilities."),
    _C("close", "float", "Closing price of one share."),
    _C("return", "float", "Log return from the previous close (6 decimals)."),
    _C("volume", "int", "Shares traded that day."),
    _C("realized_vol_20d", "float", "Annualised volatility of the last 20 daily returns."),
    _C("implied_vol_30d", "float", "Annualised implied volatility of a 30-day at-the-money "
       "call (the volatility that prices call_30d_atm)."),
    _C("call_30d_atm", "float", "Black-Scholes price of a 30-day call struck at the close, "
       "at implied_vol_30d and a 4.5 % rate."),
)

MARKET_PRICES_SEQUENCE = SequenceSpec(key="ticker", index="date", context=("sector",))

MARKET_PRICES_RELATIONS: tuple[str, ...] = (
    "returns: GARCH(1,1) with alpha 0.08, beta 0.90 (large moves cluster in time)",
    "shocks = market factor + sector factor (loading 0.45) + own noise: every pair of "
    "tickers is positively correlated, pairs within a sector more",
    "long-run volatility by sector: technology 38 %, energy 32 %, financials 26 %, "
    "utilities 16 % a year",
    "volume rises with the size of the day's move",
    "implied_vol_30d = 0.75 x realized_vol_20d + 0.25 x the sector's long-run level + 1.5 % "
    "premium + noise; call_30d_atm = Black-Scholes(close, close, 30 days, 4.5 %, implied)",
)


def trading_days(count: int) -> pd.DatetimeIndex:
    """The first ``count`` weekdays from 2 January 2024 without the US market holidays."""
    days = pd.bdate_range("2024-01-02", periods=count + 40)
    days = days[~days.isin(pd.to_datetime(list(_HOLIDAYS_2024)))]
    return days[:count]


def black_scholes_call(spot: np.ndarray, strike: np.ndarray, years: float, rate: float,
                       volatility: np.ndarray) -> np.ndarray:
    """Black-Scholes price of a European call (no dividends)."""
    root = volatility * np.sqrt(years)
    d1 = (np.log(spot / strike) + (rate + 0.5 * volatility**2) * years) / root
    d2 = d1 - root
    return spot * ndtr(d1) - strike * np.exp(-rate * years) * ndtr(d2)


def _standard_t(rng: np.random.Generator, shape: tuple[int, ...], dof: float = 6.0):
    """Fat-tailed shocks with variance 1."""
    return rng.standard_t(dof, size=shape) / np.sqrt(dof / (dof - 2.0))


def _tickers(rng: np.random.Generator, count: int) -> list[str]:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    names: list[str] = []
    while len(names) < count:
        name = "".join(rng.choice(letters, size=int(rng.integers(3, 5))))
        if name not in names:
            names.append(name)
    return names


def market_prices_dataset(spec: MarketPricesSpec | None = None) -> pd.DataFrame:
    """Make the daily prices (sorted by ticker, then date).

    Args:
        spec: The settings (the shipped sample's by default).

    Returns:
        The table with the columns of :data:`MARKET_PRICES_COLUMNS`.
    """
    spec = spec or MarketPricesSpec()
    rng = _rng(spec.seed, "market_prices")
    sectors = [name for name in _SECTORS for _ in range(spec.tickers_per_sector)]
    count = len(sectors)
    steps = _BURN_IN + spec.days
    long_vol = np.array([_SECTORS[s][0] for s in sectors])
    market_loading = np.array([_SECTORS[s][1] for s in sectors])
    drift = np.array([_SECTORS[s][2] for s in sectors]) / 252
    own = np.sqrt(1.0 - market_loading**2 - _SECTOR_LOADING**2)
    sector_index = np.array([list(_SECTORS).index(s) for s in sectors])
    market = _standard_t(rng, (steps,))
    sector_shocks = rng.standard_normal((steps, len(_SECTORS)))
    noise = _standard_t(rng, (steps, count))
    shocks = (market[:, None] * market_loading + sector_shocks[:, sector_index] * _SECTOR_LOADING
              + noise * own)
    long_var = long_vol**2 / 252
    omega = long_var * (1.0 - _ALPHA - _BETA)
    variance = long_var.copy()
    returns = np.empty((steps, count))
    for step in range(steps):
        returns[step] = drift - 0.5 * variance + np.sqrt(variance) * shocks[step]
        variance = omega + _ALPHA * (returns[step] - drift) ** 2 + _BETA * variance
    start = np.exp(rng.normal(np.log(60.0), 0.8, size=count)).clip(8.0, 450.0)
    close = np.round(start * np.exp(np.cumsum(returns, axis=0)), 2)
    log_return = np.diff(np.log(close), axis=0)  # from the rounded closes: consistent
    realised = (pd.DataFrame(log_return).rolling(_REALISED_WINDOW).std().to_numpy()
                * np.sqrt(252))
    base_volume = np.array([_SECTORS[s][3] for s in sectors]) * np.exp(
        rng.normal(0.0, 0.5, size=count))
    surprise = np.abs(log_return) / np.sqrt(long_var)
    wobble = np.zeros(count)
    volume = np.empty_like(log_return)
    implied = np.empty_like(log_return)
    premium_noise = np.zeros(count)
    for step in range(log_return.shape[0]):
        wobble = 0.6 * wobble + 0.25 * rng.standard_normal(count)
        volume[step] = base_volume * np.exp(0.35 * (surprise[step] - 0.8) + wobble)
        premium_noise = 0.8 * premium_noise + 0.01 * rng.standard_normal(count)
        implied[step] = 0.75 * np.where(np.isnan(realised[step]), long_vol, realised[step]) + (
            0.25 * long_vol + 0.015 + premium_noise)
    shown = slice(log_return.shape[0] - spec.days, None)
    iv = np.round(implied[shown].clip(0.05, 2.0), 4)
    spot = close[1:][shown]
    call = np.round(black_scholes_call(spot, spot, OPTION_DAYS / 365, RATE, iv), 2)
    days = trading_days(spec.days)
    names = _tickers(rng, count)
    frame = pd.DataFrame({
        "ticker": np.repeat(names, spec.days),
        "date": np.tile(days.to_numpy(dtype="datetime64[ns]"), count),
        "sector": np.repeat(sectors, spec.days),
        "close": spot.T.ravel(),
        "return": np.round(log_return[shown].T.ravel(), 6),
        "volume": np.round(volume[shown].T.ravel()).astype(np.int64),
        "realized_vol_20d": np.round(realised[shown].T.ravel(), 4),
        "implied_vol_30d": iv.T.ravel(),
        "call_30d_atm": call.T.ravel(),
    })
    return frame.sort_values(["ticker", "date"], kind="stable", ignore_index=True)
