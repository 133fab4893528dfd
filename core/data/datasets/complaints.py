"""The ``complaints`` sample: consumer complaints about financial products, with their text.

Rows look like a public complaints register: the product, an issue that depends on the
product, the state, how the complaint came in, the company's response, whether it came in
time, the day it was received, and the complaint written by the consumer. The text is put
together from sentence templates with varied details (amounts, months, waiting times,
who was spoken to), and each product and issue has its own vocabulary, so a classifier
can tell a mortgage complaint from a debt-collection one. Lengths run from 15 to 120 words.
About one text in eight carries a planted personal detail (a name, an e-mail address, a
phone number or an account number; all fictitious, e-mails on the reserved example.com
domains, phones on the fictional 555-01xx lines) for the studio's PII scrubbing to find.

Only numpy draws from the seed (no Faker), so the same :class:`ComplaintsSpec` gives the
same table byte for byte on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.datasets.machinery import _Column as _C
from core.data.datasets.machinery import _rng

__all__ = ["COMPLAINTS_COLUMNS", "COMPLAINTS_RELATIONS", "ComplaintsSpec", "complaints_dataset"]

_MIN_WORDS, _MAX_WORDS = 15, 120


@dataclass(frozen=True)
class ComplaintsSpec:
    """What :func:`complaints_dataset` makes (immutable, so it can key caches).

    Attributes:
        rows: Number of complaints.
        seed: Random seed; the same spec always gives the same rows.
        pii_share: Share of texts with one planted personal detail.
    """

    rows: int = 3000
    seed: int = 2024
    pii_share: float = 0.12


COMPLAINTS_COLUMNS: tuple[_C, ...] = (
    _C("complaint_id", "id", "Row id of the complaint (1, 2, ...)."),
    _C("received_date", "date", "Day the complaint was received, 2022-2024."),
    _C("product", "category", "mortgage, credit card, checking account, student loan, "
       "debt collection or vehicle loan."),
    _C("issue", "category", "What went wrong; each product has its own issues."),
    _C("state", "category", "Two-letter US state code of the consumer."),
    _C("channel", "category", "How the complaint came in: web, phone, email or referral."),
    _C("company_response", "category", "closed with explanation, closed with monetary "
       "relief, closed with non-monetary relief or in progress."),
    _C("timely_response", "bool", "Target: the company answered in time (yes/no)."),
    _C("complaint_text", "text", "The complaint in the consumer's words (15-120 words; some "
       "hold a planted fictitious name, e-mail, phone or account number)."),
)

COMPLAINTS_RELATIONS: tuple[str, ...] = (
    "issue depends on product; complaint_text uses the product's and the issue's words.",
    "company_response depends on product: money back is commonest for credit cards and "
    "checking accounts, rarest for debt collection.",
    "timely_response is False more often for debt collection, referrals and responses "
    "still in progress.",
    "About 12 % of the texts hold one planted personal detail (name, e-mail, phone or "
    "account number) for the PII scrubbing to find.",
)

# product: (share, who the consumer deals with, issues with their share)
_PRODUCTS: dict[str, tuple[float, str, dict[str, float]]] = {
    "mortgage": (0.18, "the mortgage servicer", {
        "trouble during payment process": 0.4, "struggling to pay mortgage": 0.3,
        "applying for a mortgage": 0.15, "closing on a mortgage": 0.15}),
    "credit card": (0.22, "the card issuer", {
        "problem with a purchase on statement": 0.35, "fees or interest": 0.3,
        "getting a credit card": 0.15, "closing the card account": 0.2}),
    "checking account": (0.17, "the bank", {
        "managing an account": 0.4, "problem with a deposit": 0.25,
        "overdraft fees": 0.2, "opening an account": 0.15}),
    "student loan": (0.10, "the loan servicer", {
        "dealing with the servicer": 0.45, "struggling to repay": 0.35,
        "incorrect information on statement": 0.2}),
    "debt collection": (0.22, "the collection agency", {
        "debt is not mine": 0.4, "threatening or abusive calls": 0.25,
        "no written notice about the debt": 0.2, "false statements": 0.15}),
    "vehicle loan": (0.11, "the auto lender", {
        "managing the loan": 0.45, "repossession": 0.3, "getting a loan": 0.25}),
}

_OPENINGS: dict[str, tuple[str, ...]] = {
    "mortgage": (
        "I have had a mortgage on my home with {who} for {years} years.",
        "My home loan was transferred to a new mortgage servicer in {month}.",
        "We refinanced our house in {month} and the escrow account has been a mess since.",
    ),
    "credit card": (
        "I have held this credit card for {years} years and always paid the statement on time.",
        "In {month} I noticed a charge on my credit card statement that I did not make.",
        "My card issuer raised the interest rate on my card without warning.",
    ),
    "checking account": (
        "I have had a checking account with {who} for {years} years.",
        "In {month} I deposited a check into my checking account at the branch.",
        "My debit card and checking account were frozen in {month} without explanation.",
    ),
    "student loan": (
        "I took out federal student loans for college and they are handled by {who}.",
        "My student loan servicer changed in {month} and my payment plan was lost.",
        "I have been repaying my student loans for {years} years on an income-driven plan.",
    ),
    "debt collection": (
        "A debt collector started calling me in {month} about a debt I do not recognize.",
        "{who} says I owe {amount} for an old medical bill.",
        "I received a collection notice in {month} for {amount} from {who}.",
    ),
    "vehicle loan": (
        "I financed a used car through {who} in {month}.",
        "My auto loan has {years} years left and I have never missed a car payment.",
        "The dealership arranged my car loan with {who} in {month}.",
    ),
}

_ISSUE_SENTENCES: dict[str, tuple[str, ...]] = {
    "trouble during payment process": (
        "My mortgage payment of {amount} was applied to the escrow instead of the principal.",
        "The servicer says my payment was late even though the bank shows it left on time.",
        "They charged a late fee on the mortgage and will not remove it.",
    ),
    "struggling to pay mortgage": (
        "I lost hours at work and asked for a loan modification to lower the monthly payment.",
        "I applied for forbearance {weeks} weeks ago and still have no answer.",
        "They threatened foreclosure while my modification application was under review.",
    ),
    "applying for a mortgage": (
        "The loan officer promised a rate lock but the rate changed at the last minute.",
        "They asked for the same pay stubs and tax returns three times.",
        "My mortgage application has been in underwriting for {weeks} weeks.",
    ),
    "closing on a mortgage": (
        "The closing was delayed twice and the appraisal fee was charged again.",
        "At closing the fees were {amount} higher than on the loan estimate.",
        "The title company and the lender blame each other for the delay in closing.",
    ),
    "problem with a purchase on statement": (
        "I disputed a purchase of {amount} from an online merchant that never shipped.",
        "The card issuer closed my dispute without looking at the receipts I sent.",
        "The merchant refunded me but the credit never showed on my statement.",
    ),
    "fees or interest": (
        "They charged an annual fee of {amount} that I was told would be waived.",
        "Interest was charged on a balance I paid in full before the due date.",
        "A late fee appeared even though the autopay went through on time.",
    ),
    "getting a credit card": (
        "My application for the card was denied because of an error on my credit report.",
        "The promised sign-up bonus of {amount} in rewards points was never credited.",
        "A credit card was opened in my name that I never applied for.",
    ),
    "closing the card account": (
        "I asked to close the card account and they kept charging the annual fee.",
        "They closed my credit card without notice and my credit score dropped.",
        "After closing the card I still received a bill for {amount}.",
    ),
    "managing an account": (
        "The bank put a hold on my account and I could not pay my rent.",
        "Someone withdrew {amount} from my checking account at an ATM I never used.",
        "The online banking app shows a different balance than the branch.",
    ),
    "problem with a deposit": (
        "A check deposit of {amount} has been on hold for {weeks} weeks.",
        "My direct deposit from work did not post to the account on payday.",
        "The mobile deposit was rejected but the money was still taken from the check.",
    ),
    "overdraft fees": (
        "They charged {n} overdraft fees in one day for small debit card purchases.",
        "The bank reordered my transactions so that more overdraft fees were charged.",
        "I opted out of overdraft coverage and was still charged a fee of {amount}.",
    ),
    "opening an account": (
        "The bank refused to open a checking account and would not tell me why.",
        "I was promised a bonus of {amount} for opening the account and never got it.",
        "They needed {weeks} weeks to verify my identity before the account worked.",
    ),
    "dealing with the servicer": (
        "The loan servicer put my student loans in forbearance without asking me.",
        "My payments were split across the loans in a way I never agreed to.",
        "Every time I call the servicer I get a different answer about my repayment plan.",
    ),
    "struggling to repay": (
        "My monthly student loan payment went up to {amount} and I cannot afford it.",
        "I applied for the income-driven repayment plan {weeks} weeks ago.",
        "The interest keeps growing even though I pay every month.",
    ),
    "incorrect information on statement": (
        "The statement shows a balance {amount} higher than my records.",
        "Payments I made on my student loan are missing from the payment history.",
        "The servicer reported my loans as delinquent to the credit bureaus by mistake.",
    ),
    "debt is not mine": (
        "I never had an account with the original creditor they name.",
        "The collector will not send any proof that I owe this debt.",
        "The debt was paid in full years ago and I have the receipt.",
    ),
    "threatening or abusive calls": (
        "The collector calls {n} times a day, even at work.",
        "They threatened to have me arrested if I did not pay today.",
        "The agent was rude, used bad language and called my family about the debt.",
    ),
    "no written notice about the debt": (
        "I asked for a validation letter and never received anything in writing.",
        "They reported the collection to my credit report without ever sending a notice.",
        "I only found out about the debt when my credit score dropped.",
    ),
    "false statements": (
        "The collector said the debt would be removed from my credit report if I paid.",
        "They claimed to be attorneys and said they would sue me this week.",
        "The amount they demand grew from {amount} with fees I never agreed to.",
    ),
    "managing the loan": (
        "My car payment of {amount} was posted late and they charged a late fee.",
        "The auto lender added insurance to the loan that I never asked for.",
        "I paid off the car loan but the lender has not released the title.",
    ),
    "repossession": (
        "They repossessed my car while I was on an approved payment plan.",
        "The repo company kept my personal belongings that were in the vehicle.",
        "After the repossession they say I still owe {amount} on the car.",
    ),
    "getting a loan": (
        "The dealer changed the interest rate on the auto loan after I drove the car home.",
        "The car loan contract included a warranty I did not agree to.",
        "My auto loan application was denied even though I was told I was approved.",
    ),
}

_PRODUCT_FILLERS: dict[str, tuple[str, ...]] = {
    "mortgage": ("Our house payment is the biggest bill we have.",
                 "The escrow analysis makes no sense to me.",
                 "I am afraid we could lose our home."),
    "credit card": ("My credit limit is {amount} and I keep the balance low.",
                    "I use the card for groceries and gas.",
                    "The rewards program is not what was advertised."),
    "checking account": ("I have been a customer of the bank for a long time.",
                         "The branch manager could not help me either.",
                         "I need this account for my paycheck and my bills."),
    "student loan": ("I graduated {years} years ago and work as a teacher.",
                     "I also have a co-signer on one of the loans.",
                     "I want to qualify for public service loan forgiveness."),
    "debt collection": ("I have asked them in writing to stop calling me.",
                        "This collection account is hurting my credit score.",
                        "I do not know how they got my number."),
    "vehicle loan": ("I need the car to get to work.",
                     "The dealership will not return my calls.",
                     "The payoff amount keeps changing."),
}

_GENERIC = (
    "I called {who} {n} times and was transferred each time.",
    "I waited on hold for over an hour.",
    "Nobody could give me a clear answer.",
    "I have sent letters and e-mails with all the documents.",
    "This has caused me a lot of stress.",
    "I was promised a call back that never came.",
    "The representative said it would be fixed in {weeks} weeks, but nothing happened.",
    "I have been dealing with this since {month}.",
)

_CLOSINGS = (
    "I want this corrected.",
    "Please help me resolve this.",
    "I am asking for a refund of {amount}.",
    "I want the fees removed and my credit report fixed.",
    "I would like a written explanation.",
)

# Fictitious people for the planted details (all in Faker's en_US name lists, so the
# scrubbing's name check knows them).
_FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
          "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
          "Thomas", "Sarah", "Daniel", "Karen", "Laura", "Kevin", "Nancy", "Brian")
_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
         "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas",
         "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark")
_PII_TEMPLATES = {
    "name": ("My name is {first} {last}.",
             "I spoke with a representative named {first} {last}.",
             "The manager, Mr. {last}, said he would call me back."),
    "email": ("You can reach me at {email}.", "Please reply to {email}."),
    "phone": ("Please call me at {phone}.", "My phone number is {phone}."),
    "account": ("My account number is {account}.", "The account in question is {account}."),
}
_PII_KIND_SHARE = {"name": 0.35, "email": 0.25, "phone": 0.2, "account": 0.2}

_STATES = {
    "CA": 12, "TX": 9, "FL": 7, "NY": 6, "PA": 4, "IL": 4, "OH": 3.5, "GA": 3.5, "NC": 3.2,
    "MI": 3, "NJ": 2.8, "VA": 2.6, "WA": 2.3, "AZ": 2.2, "MA": 2.1, "TN": 2.1, "IN": 2,
    "MD": 1.8, "MO": 1.8, "WI": 1.8, "CO": 1.8, "MN": 1.7, "SC": 1.6, "AL": 1.5, "LA": 1.4,
}
_CHANNELS = {"web": 0.62, "referral": 0.18, "phone": 0.12, "email": 0.08}
_RESPONSES = ("closed with explanation", "closed with monetary relief",
              "closed with non-monetary relief", "in progress")
# product: shares of _RESPONSES
_RESPONSE_SHARES = {
    "mortgage": (0.78, 0.05, 0.12, 0.05), "credit card": (0.62, 0.22, 0.12, 0.04),
    "checking account": (0.63, 0.23, 0.10, 0.04), "student loan": (0.80, 0.04, 0.12, 0.04),
    "debt collection": (0.78, 0.02, 0.14, 0.06), "vehicle loan": (0.74, 0.10, 0.12, 0.04),
}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_START = np.datetime64("2022-01-01", "D")
_DAYS = int((np.datetime64("2024-12-31", "D") - _START).astype(int)) + 1


def _probabilities(weights: dict[str, float] | tuple[float, ...]) -> np.ndarray:
    values = np.array(list(weights.values() if isinstance(weights, dict) else weights),
                      dtype=float)
    return values / values.sum()


def _fill(template: str, rng: np.random.Generator, who: str, month: str) -> str:
    amount = int(rng.choice((35, 50, 75, 120, 250, 400, 600, 850, 1200, 1500, 2400, 3800)))
    text = template.format(
        who=who, month=month, amount=f"${amount:,}", years=int(rng.integers(2, 16)),
        weeks=int(rng.integers(2, 13)), n=int(rng.integers(3, 9)),
    )
    return text[0].upper() + text[1:]


def _planted(kind: str, rng: np.random.Generator) -> str:
    first, last = str(rng.choice(_FIRST)), str(rng.choice(_LAST))
    email = (f"{first.lower()}.{last.lower()}{int(rng.integers(10, 100))}"
             f"@example.{rng.choice(('com', 'org', 'net'))}")
    phone = f"({int(rng.integers(201, 990))}) 555-01{int(rng.integers(0, 100)):02d}"
    if rng.random() < 0.5:
        account = "".join(str(d) for d in rng.integers(0, 10, size=int(rng.integers(10, 13))))
    else:
        digits = "4" + "".join(str(d) for d in rng.integers(0, 10, size=15))
        account = " ".join(digits[i:i + 4] for i in range(0, 16, 4))
    template = str(rng.choice(_PII_TEMPLATES[kind]))
    return template.format(first=first, last=last, email=email, phone=phone, account=account)


def _text(product: str, issue: str, month: str, pii: str | None,
          rng: np.random.Generator) -> str:
    who = _PRODUCTS[product][1]
    issue_pool = _ISSUE_SENTENCES[issue]
    short = rng.random() < 0.2  # a fifth are one or two sentences, as real ones often are
    issue_count = 1 if short else int(rng.integers(1, len(issue_pool) + 1))
    sentences = [_fill(str(rng.choice(_OPENINGS[product])), rng, who, month)]
    sentences += [_fill(s, rng, who, month)
                  for s in rng.choice(issue_pool, size=issue_count, replace=False)]
    extra = rng.choice(_PRODUCT_FILLERS[product], size=0 if short else int(rng.integers(0, 3)),
                       replace=False)
    generic = rng.choice(_GENERIC, size=0 if short else int(rng.integers(0, 5)), replace=False)
    middle = [_fill(s, rng, who, month) for s in (*extra, *generic)]
    rng.shuffle(middle)
    sentences += middle
    if pii is not None:
        sentences.insert(int(rng.integers(1, len(sentences) + 1)), pii)
    if rng.random() < (0.3 if short else 0.8):
        sentences.append(_fill(str(rng.choice(_CLOSINGS)), rng, who, month))
    # Keep within 15-120 words: drop middle sentences from the end, pad with generic ones.
    while sum(len(s.split()) for s in sentences) > _MAX_WORDS and len(sentences) > 2:
        droppable = [i for i, s in enumerate(sentences[1:-1], 1) if s != pii]
        sentences.pop(droppable[-1] if droppable else len(sentences) - 2)
    while sum(len(s.split()) for s in sentences) < _MIN_WORDS:
        sentences.insert(-1, _fill(str(rng.choice(_GENERIC)), rng, who, month))
    return " ".join(sentences)


def complaints_dataset(spec: ComplaintsSpec | None = None) -> pd.DataFrame:
    """Generate the complaints table.

    Args:
        spec: Rows, seed and the share of texts with a planted personal detail.

    Returns:
        A frame with :data:`COMPLAINTS_COLUMNS`: ``complaint_id`` ``int64``,
        ``received_date`` ``datetime64[ns]``, ``timely_response`` ``bool``, the rest
        ``object`` strings. No cell is missing.
    """
    spec = spec or ComplaintsSpec()
    n = int(spec.rows)
    rng = _rng(spec.seed, "complaints:table")
    text_rng = _rng(spec.seed, "complaints:text")

    products = tuple(_PRODUCTS)
    product = rng.choice(products, size=n, p=_probabilities({p: v[0] for p, v in
                                                                _PRODUCTS.items()}))
    issue = np.empty(n, dtype=object)
    response = np.empty(n, dtype=object)
    for name in products:
        rows = np.flatnonzero(product == name)
        issues = _PRODUCTS[name][2]
        issue[rows] = rng.choice(tuple(issues), size=rows.size, p=_probabilities(issues))
        response[rows] = rng.choice(_RESPONSES, size=rows.size,
                                    p=_probabilities(_RESPONSE_SHARES[name]))
    states = tuple(_STATES)
    state = rng.choice(states, size=n, p=_probabilities(_STATES))
    channel = rng.choice(tuple(_CHANNELS), size=n, p=_probabilities(_CHANNELS))
    received = _START + rng.integers(0, _DAYS, size=n).astype("timedelta64[D]")

    late = (0.03 + 0.07 * (product == "debt collection") + 0.06 * (channel == "referral")
            + 0.15 * (response == "in progress"))
    timely = rng.random(n) >= late

    months = received.astype("datetime64[M]").astype(int) % 12
    has_pii = text_rng.random(n) < spec.pii_share
    kinds = text_rng.choice(tuple(_PII_KIND_SHARE), size=n,
                            p=_probabilities(_PII_KIND_SHARE))
    texts = []
    for row in range(n):
        month = _MONTHS[(months[row] - int(text_rng.integers(0, 3))) % 12]
        pii = _planted(str(kinds[row]), text_rng) if has_pii[row] else None
        texts.append(_text(str(product[row]), str(issue[row]), month, pii, text_rng))

    return pd.DataFrame({
        "complaint_id": np.arange(1, n + 1, dtype=np.int64),
        "received_date": received.astype("datetime64[ns]"),
        "product": product.astype(object),
        "issue": issue,
        "state": state.astype(object),
        "channel": channel.astype(object),
        "company_response": response,
        "timely_response": timely,
        "complaint_text": np.array(texts, dtype=object),
    })
