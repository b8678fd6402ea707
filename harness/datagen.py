"""Fast deterministic document generation.

Faker is slow (tens of microseconds a call), so Faker fills value pools once per process and
documents sample from those pools with a plain `random.Random`. Each document's randomness is
seeded from (seed, collection, index), so any document can be rebuilt alone: batches generate
in parallel worker processes in any order, a resumed load regenerates exactly the same
documents, and a child can compute the attributes of the parent it references (ids, creation
time) without reading the database.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import pickle
import random
import string
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from bson import ObjectId

if TYPE_CHECKING:
    from harness.spec import System

X = TypeVar("X")
DAY_SECONDS = 86400.0
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, variant 10


def stable_int(*parts: object) -> int:
    """A 64-bit integer from `parts`, the same in every process (unlike hash())."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def utc_day(value: datetime | None = None) -> datetime:
    """Midnight UTC of `value` (default: today) as a naive UTC datetime, like pymongo returns."""
    value = value or datetime.now(UTC)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


class Pools:
    """Realistic values drawn from Faker once, then sampled."""

    SIZE = 2000
    VERSION = 1  # bump when the pools' contents change

    @classmethod
    def cached(cls, seed: int) -> Pools:
        """Pools for `seed`, from a pickle in the state directory when one exists (building them
        costs about a second per process; a load starts several)."""
        import faker

        from harness.tools import state_dir

        path = state_dir() / f"pools-{cls.VERSION}-{cls.SIZE}-{faker.VERSION}-{seed}.pickle"
        try:
            with open(path, "rb") as fh:
                pools = pickle.load(fh)
            if isinstance(pools, cls):
                return pools
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            pass
        pools = cls(seed)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(pools, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return pools

    def __init__(self, seed: int) -> None:
        from faker import Faker

        fake = Faker("en_US")
        fake.seed_instance(seed)
        n = self.SIZE
        self.first_names = [fake.first_name() for _ in range(n)]
        self.last_names = [fake.last_name() for _ in range(n)]
        self.words = list(dict.fromkeys(fake.words(nb=6000)))
        self.sentences = [fake.sentence(nb_words=12) for _ in range(n)]
        self.questions = [fake.sentence(nb_words=9)[:-1] + "?" for _ in range(n // 2)]
        self.paragraphs = [fake.paragraph(nb_sentences=5) for _ in range(n // 2)]
        self.domains = list(dict.fromkeys(fake.free_email_domain() for _ in range(50)))
        self.company_domains = list(dict.fromkeys(fake.domain_name() for _ in range(300)))
        self.urls = [fake.url() + fake.uri_path() for _ in range(n // 2)]
        self.companies = [fake.company() for _ in range(n // 4)]
        self.cities = [fake.city() for _ in range(n // 4)]
        self.countries = list(dict.fromkeys(fake.country_code() for _ in range(400)))
        self.regions = [fake.state() for _ in range(100)]
        self.timezones = list(dict.fromkeys(fake.timezone() for _ in range(400)))
        self.user_agents = [fake.user_agent() for _ in range(200)]
        self.usernames = [fake.user_name() for _ in range(n)]
        self.job_titles = [fake.job() for _ in range(n // 4)]
        self.catch_phrases = [fake.catch_phrase() for _ in range(n // 2)]
        self.doctors = [f"Dr. {fake.first_name()} {fake.last_name()}" for _ in range(n // 4)]


class Gen:
    """The generation context a fixture's `make(g, i)` receives.

    `begin(collection, i)` reseeds `rng` for one document; helpers below sample pools, times
    and references from it. `keys(collection, j)` returns the attributes document j of another
    collection exposes (its ids, emails, timestamps), computed the same way that document's
    own `make` computes them.
    """

    def __init__(self, system: System, seed: int, as_of: datetime, counts: dict[str, int],
                 pools: Pools | None = None) -> None:
        self.system = system
        self.seed = seed
        self.as_of = utc_day(as_of) if as_of.tzinfo else as_of
        self.start = self.as_of - timedelta(days=365.25 * system.history_years)
        self.counts = counts
        self.p = pools or Pools.cached(seed)
        self.rng = random.Random(0)
        self.collection = ""
        self.i = 0
        self._bases = {c.name: stable_int(seed, system.name, c.name) for c in system.collections}
        self._ordinals = {c.name: n for n, c in enumerate(system.collections)}
        self._keymakers = {c.name: c.keys for c in system.collections if c.keys}
        self._keycache: dict[tuple[str, int], dict[str, Any]] = {}
        self._keygen: Gen | None = None
        self._layouts: dict[str, list[int]] = {}
        self._cumulative: dict[tuple[tuple, tuple], list[float]] = {}
        self._subpools: dict[str, list[Any]] = {}

    # -- seeding --------------------------------------------------------------------------
    def begin(self, collection: str, i: int) -> Gen:
        self.collection, self.i = collection, i
        self.rng.seed(self._bases[collection] ^ (i * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF))
        return self

    def keys(self, collection: str | None = None, j: int | None = None) -> dict[str, Any]:
        """Referenceable attributes of document j of `collection` (default: the current doc)."""
        if collection is None or j is None:
            collection, j = self.collection, self.i
        hit = self._keycache.get((collection, j))
        if hit is not None:
            return hit
        maker = self._keymakers.get(collection)
        if maker is None:
            raise KeyError(f"collection {collection!r} defines no keys()")
        if self._keygen is None:
            self._keygen = type(self)(self.system, self.seed, self.as_of, self.counts, self.p)
            self._keygen._layouts = self._layouts
        kg = self._keygen
        kg.begin(collection, j)
        kg.rng.seed(kg._bases[collection] ^ 0x5EED ^ (j * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF))
        value = maker(kg, j)
        if len(self._keycache) > 400_000:
            self._keycache.clear()
        self._keycache[(collection, j)] = value
        return value

    # -- relationships --------------------------------------------------------------------
    def parent(self, collection: str | None = None, j: int | None = None) -> int:
        """Index of the parent of document j of `collection` (default: the current doc).

        1:1 children belong to the parent with the same index. 1:N children are laid out in
        contiguous runs per parent with heavy-tailed run lengths (few heavy users, many light
        ones), so the relation is enumerable both ways: see `children`.
        """
        if collection is None:
            collection, j = self.collection, self.i
        count = self.system.collection(collection).count
        if count.one_to_one:
            return j
        offsets = self._layout(collection)
        return bisect.bisect_right(offsets, j) - 1

    def children(self, collection: str, parent_index: int) -> range:
        """Indices of the documents of `collection` that belong to parent `parent_index`."""
        if self.system.collection(collection).count.one_to_one:
            return range(parent_index, parent_index + 1)
        offsets = self._layout(collection)
        return range(offsets[parent_index], offsets[parent_index + 1])

    def _layout(self, collection: str) -> list[int]:
        cached = self._layouts.get(collection)
        if cached is not None:
            return cached
        count = self.system.collection(collection).count
        assert count.per, f"{collection} has no parent collection"
        parents, total = self.counts[count.per], self.counts[collection]
        rng = random.Random(stable_int(self.seed, self.system.name, collection, "layout"))
        # Pareto(1.2) activity, capped at 40x the mean so one user cannot own everything.
        weights = [min(rng.paretovariate(1.2), 40.0 * 6.0) for _ in range(parents)]
        scale = total / sum(weights)
        exact = [w * scale for w in weights]
        sizes = [int(x) for x in exact]
        short = total - sum(sizes)
        for k in sorted(range(parents), key=lambda k: sizes[k] - exact[k])[:short]:
            sizes[k] += 1
        offsets = [0]
        for size in sizes:
            offsets.append(offsets[-1] + size)
        self._layouts[collection] = offsets
        return offsets

    def pick(self, collection: str, skew: float = 2.5) -> int:
        """Index of a referenced document; skew > 1 makes low indices heavy (few heavy users,
        many light ones): with 2.5 the top 10% of parents receive about 40% of references."""
        n = self.counts[collection]
        return min(n - 1, int(n * self.rng.random() ** skew))

    # -- sub-document pools ---------------------------------------------------------------
    def pooled(self, name: str, build: Callable[[Gen], X], size: int = 512) -> X:
        """One of `size` variants of a sub-document, built once per process by `build` from a
        generator seeded by `name`, then sampled like the value pools. Big nested arrays
        (interactions, roadmap days, biomarker panels) cost a lookup per element instead of a
        dozen random draws. Treat the result as read-only: it is shared between documents;
        put per-document values (ids, timestamps) in a new dict around it."""
        pool = self._subpools.get(name)
        if pool is None:
            pg = type(self)(self.system, self.seed, self.as_of, self.counts, self.p)
            pg.collection = self.collection
            pg.rng.seed(stable_int(self.seed, self.system.name, "subpool", name))
            pool = self._subpools[name] = [build(pg) for _ in range(size)]
        return pool[int(self.rng.random() * len(pool))]

    # -- ids ------------------------------------------------------------------------------
    def oid(self, ts: datetime | None = None) -> ObjectId:
        """A deterministic ObjectId: timestamp of `ts`, then collection ordinal and index."""
        ts = ts or self.as_of
        seconds = int(ts.replace(tzinfo=UTC).timestamp()) & 0xFFFFFFFF
        tail = (self._ordinals[self.collection] << 48) | (self.i & 0xFFFFFFFFFFFF)
        return ObjectId(seconds.to_bytes(4, "big") + tail.to_bytes(8, "big"))

    def uuid(self) -> str:
        """A random (version 4, RFC 4122 variant) UUID string, formatted without uuid.UUID."""
        n = (self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def token(self, n: int, alphabet: str = string.ascii_letters + string.digits + "./") -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    def bcrypt(self) -> str:
        return "$2b$12$" + self.token(53)

    # -- values ---------------------------------------------------------------------------
    def choice(self, seq: Sequence[X]) -> X:
        return seq[int(self.rng.random() * len(seq))]

    def weighted(self, seq: Sequence[X], weights: Sequence[float]) -> X:
        """One element of seq with the given relative weights. Cumulative sums are cached per
        distinct (seq, weights) tuple pair; other sequences are summed per call."""
        if not (isinstance(weights, tuple) and isinstance(seq, tuple)):
            return self.rng.choices(seq, weights)[0]
        cum = self._cumulative.get((seq, weights))
        if cum is None:
            total, cum = 0.0, []
            for w in weights:
                total += w
                cum.append(total)
            self._cumulative[(seq, weights)] = cum
        return seq[bisect.bisect_right(cum, self.rng.random() * cum[-1])]

    def some(self, seq: Sequence[X], lo: int, hi: int) -> list[X]:
        """lo..hi distinct elements of seq, in a random order."""
        n = len(seq)
        k = min(n, self.randint(lo, hi))
        if k == 0:
            return []
        rand = self.rng.random
        picked: dict[int, None] = {}
        while len(picked) < k:
            picked[int(rand() * n)] = None
        return [seq[j] for j in picked]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def randint(self, lo: int, hi: int) -> int:
        return lo + int(self.rng.random() * (hi - lo + 1))

    def uniform(self, lo: float, hi: float, digits: int = 2) -> float:
        return round(lo + (hi - lo) * self.rng.random(), digits)

    def unit(self, digits: int = 2) -> float:
        return round(self.rng.random(), digits)

    def size(self, mean: float, lo: int = 0, hi: int = 1_000_000) -> int:
        """A right-skewed (log-normal) count with the given mean, clamped to [lo, hi]."""
        value = int(self.rng.lognormvariate(0.0, 0.8) * mean / 1.377)
        return max(lo, min(hi, value))

    def full_name(self) -> str:
        return f"{self.choice(self.p.first_names)} {self.choice(self.p.last_names)}"

    def email(self, unique_suffix: int | None = None) -> str:
        first, last = self.choice(self.p.first_names).lower(), self.choice(self.p.last_names).lower()
        suffix = "" if unique_suffix is None else str(unique_suffix)
        return f"{first}.{last}{suffix}@{self.choice(self.p.domains)}"

    def sentence(self) -> str:
        return self.choice(self.p.sentences)

    def question(self) -> str:
        return self.choice(self.p.questions)

    def paragraph(self) -> str:
        return self.choice(self.p.paragraphs)

    def words(self, lo: int, hi: int | None = None) -> list[str]:
        """lo..hi words from the pool (repeats possible, as in real text)."""
        words, rand = self.p.words, self.rng.random
        n = len(words)
        return [words[int(rand() * n)] for _ in range(self.randint(lo, hi or lo))]

    def title(self, lo: int = 2, hi: int = 5) -> str:
        return " ".join(self.words(lo, hi)).capitalize()

    def url(self) -> str:
        return self.choice(self.p.urls)

    # -- time -----------------------------------------------------------------------------
    def between(self, a: datetime, b: datetime) -> datetime:
        if b <= a:
            return a
        span = (b - a).total_seconds()
        return a + timedelta(seconds=int(self.rng.random() * span))

    def since(self, a: datetime) -> datetime:
        """A time between `a` and as_of."""
        return self.between(a, self.as_of)

    def recent(self, a: datetime, bias: float = 2.0) -> datetime:
        """A time between `a` and as_of, biased towards as_of (activity grows over time)."""
        span = max(0.0, (self.as_of - a).total_seconds())
        return a + timedelta(seconds=int(span * (1.0 - self.rng.random() ** bias)))

    def history(self, bias: float = 1.0) -> datetime:
        """A time within the system's history window; bias > 1 favours recent times."""
        return self.recent(self.start, bias) if bias != 1.0 else self.since(self.start)

    def days_ago(self, lo: float, hi: float) -> datetime:
        return self.as_of - timedelta(seconds=int(self.rng.uniform(lo, hi) * DAY_SECONDS))

    def after(self, t: datetime, lo_minutes: float, hi_minutes: float) -> datetime:
        return t + timedelta(seconds=int(self.rng.uniform(lo_minutes, hi_minutes) * 60))

    @staticmethod
    def iso(t: datetime) -> str:
        """ISO-8601 UTC with microseconds and Z, e.g. 2026-02-07T12:00:00.000000Z."""
        return t.isoformat(timespec="microseconds") + "Z"

    @staticmethod
    def day(t: datetime) -> str:
        return t.date().isoformat()
