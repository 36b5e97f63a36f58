"""Partner scoring as pure functions on numpy arrays and scipy.sparse matrices.

The model is a set of city×topic matrices, one per stance (offers, seeks, working_on),
after two enrichment steps: wiki evidence (published experiences count as an offer) and
topic-tree propagation (a sub-topic counts partly toward each ancestor). Scores of one
city against all others are sparse matrix-vector products; explanations are computed
only for the few pairs that are shown. Nothing here touches the database, so the app and
benchmarks/match_bench.py run exactly the same code.
"""
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# --- weights (every number that shapes a score is named here) ---------------------------

#: A sub-topic's entry counts toward its parent with this factor, and again per level up.
TREE_DECAY = 0.5
#: Strength of an offer inferred only from published experiences (a declared offer is 1).
EVIDENCE_WEIGHT = 0.5
#: Extra strength of a declared offer that published experiences back up.
EVIDENCE_BONUS = 0.25
#: Maturity assumed for an inferred offer when the city gave no maturity on that topic.
INFERRED_MATURITY = 3
#: An offer this many maturity levels ahead of the seeker counts twice as much (and an
#: offer the same number of levels behind counts half as much).
GAP_DOUBLING_LEVELS = 4.0
#: Weight of "both cities work on the topic" in the joint-project score.
JOINT_WORKING_WEIGHT = 1.0
#: Weight of "both cities seek the topic": two seekers can pool effort, but nobody leads.
JOINT_SEEKING_WEIGHT = 0.6
#: Weight of "one city offers a topic the other works on", relative to an offer meeting a
#: seeker (1): the city in the middle of it gains from one that already runs it, but it
#: did not ask for help, so the pairing counts less than an explicit request.
OFFER_WORKING_WEIGHT = 0.6
#: Share of the knowledge-transfer score in the combined score.
TRANSFER_WEIGHT = 1.0
#: Share of the joint-project score in the combined score.
JOINT_WEIGHT = 1.0
#: Reasons contributing less than this share of a pair's score are left out of the list.
REASON_MIN_SHARE = 0.02
#: At most this many reasons are listed per partner, strongest first.
MAX_REASONS = 12

#: Stance names as stored in Interest.stance, and their codes in the arrays below.
STANCE_CODES = {"offers": 0, "seeks": 1, "working_on": 2}
#: all_top_k() shortlists this many extra partners in single precision before it
#: re-scores exactly, so rounding cannot push a true top-k partner out of the list.
SHORTLIST_EXTRA = 5
#: Reason directions, seen from the city asking ("we") about a partner ("they"). The
#: strings are API values: new ones are appended, existing ones never change.
#: "they_offer_working": they offer a topic we work on; "we_offer_working" the mirror.
DIRECTIONS = ("they_offer", "we_offer", "joint_working", "joint_seeking",
              "they_offer_working", "we_offer_working")
TRANSFER_DIRECTIONS = ("they_offer", "we_offer", "they_offer_working", "we_offer_working")
#: Transfer directions in which the partner is the one who offers.
THEY_OFFER_DIRECTIONS = ("they_offer", "they_offer_working")
JOINT_DIRECTIONS = ("joint_working", "joint_seeking")


@dataclass(frozen=True)
class StanceMatrix:
    """One stance's city×topic strengths (canonical CSR) with per-entry metadata.

    `maturity`, `origin` (the topic column the entry was declared or inferred on; differs
    from the column for entries propagated up the tree) and `inferred` (offer derived from
    wiki evidence) are aligned with `strength.data`.
    """

    strength: sp.csr_matrix
    maturity: np.ndarray
    origin: np.ndarray
    inferred: np.ndarray

    def row(self, i: int):
        """Columns, strengths, maturities, origins and inferred flags of row `i`."""
        start, end = self.strength.indptr[i], self.strength.indptr[i + 1]
        return (self.strength.indices[start:end], self.strength.data[start:end],
                self.maturity[start:end], self.origin[start:end], self.inferred[start:end])


@dataclass(frozen=True)
class MatchModel:
    """Everything needed to score and explain: stance matrices, rarity, scoring matrices.

    `partner` (n × 8m) holds each city's side of a pair as partner, `query` (n × 8m) each
    city's side as the one asking, with rarity and joint weights folded in. Their first
    four blocks are [offer | seek + working | working | seeking] (partner's declared
    entries; working weighted by OFFER_WORKING_WEIGHT) against [seek + working | offer |
    working | seeking] (all of the asker's entries); the last four pair
    the partner's propagated entries with the asker's declared ones. partner[b] · query[a]
    over TRANSFER_BLOCKS is the transfer score of a with b, over the rest the joint score.
    """

    n_cities: int
    n_topics: int
    parent: np.ndarray
    rarity: np.ndarray
    offers: StanceMatrix
    seeks: StanceMatrix
    working: StanceMatrix
    partner: sp.csr_matrix
    query: sp.csr_matrix
    #: partnerᵀ in CSR: one city's scores touch only the rows of topics it has.
    partner_t: sp.csr_matrix


@dataclass(frozen=True)
class RawReason:
    """One explained contribution to a pair's score, in matrix indices."""

    topic: int
    direction: str
    weight: float
    their_maturity: float
    our_maturity: float
    inferred_from_wiki: bool
    our_origin: int
    their_origin: int


# --- building the model ------------------------------------------------------------------

def depth_of(parent: np.ndarray) -> np.ndarray:
    """Depth of every topic in the tree (roots are 0); cycles are cut at len(parent)."""
    parent = np.asarray(parent, dtype=np.int64)
    depth = np.zeros(len(parent), dtype=np.int64)
    current = parent.copy()
    for _ in range(len(parent)):
        alive = current >= 0
        if not alive.any():
            break
        depth[alive] += 1
        current[alive] = parent[current[alive]]
    return depth


def subtree_mask(parent: np.ndarray, topic: int) -> np.ndarray:
    """Boolean mask of `topic` and all its descendants."""
    parent = np.asarray(parent, dtype=np.int64)
    mask = np.arange(len(parent)) == topic
    current = np.arange(len(parent))
    for _ in range(len(parent)):
        alive = current >= 0
        if not alive.any():
            break
        current[alive] = parent[current[alive]]
        mask |= current == topic
    return mask


def propagate(rows, cols, strength, maturity, inferred, parent, n_cities, n_topics):
    """Add decayed copies of each entry to every ancestor; keep the strongest per cell.

    Returns a StanceMatrix in canonical CSR order whose `origin` names the topic each
    kept entry came from.
    """
    parent = np.asarray(parent, dtype=np.int64)
    parts = [(np.asarray(rows, np.int64), np.asarray(cols, np.int64),
              np.asarray(strength, np.float64), np.asarray(maturity, np.float64),
              np.asarray(cols, np.int64), np.asarray(inferred, bool))]
    current = parts[0]
    for _ in range(n_topics):
        r, c, s, m, o, i = current
        up = parent[c] if len(c) else c
        keep = up >= 0
        if not keep.any():
            break
        current = (r[keep], up[keep], s[keep] * TREE_DECAY, m[keep], o[keep], i[keep])
        parts.append(current)
    r, c, s, m, o, i = (np.concatenate(arrays) for arrays in zip(*parts))
    key = r * n_topics + c
    # Sort by cell, strongest first (declared before inferred on ties), keep the first.
    order = np.lexsort((i, -s, key))
    key, r, c, s, m, o, i = (a[order] for a in (key, r, c, s, m, o, i))
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    r, c, s, m, o, i = (a[first] for a in (r, c, s, m, o, i))
    indptr = np.zeros(n_cities + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_cities), out=indptr[1:])
    matrix = sp.csr_matrix((s, c.astype(np.int32), indptr), shape=(n_cities, n_topics))
    return StanceMatrix(matrix, m, o.astype(np.int32), i)


def rarity_weights(stances: list[StanceMatrix], n_cities: int) -> np.ndarray:
    """IDF-style weight per topic: ln((1+N)/(1+df)) + 1 over cities with any interest.

    df counts cities with any (propagated) stance on the topic, so a root topic that
    everybody touches gets weight 1 and a niche topic far more.
    """
    n_topics = stances[0].strength.shape[1]
    union = sum((s.strength != 0).astype(np.int8) for s in stances)
    union = sp.csr_matrix(union)
    df = np.bincount(union.indices, minlength=n_topics)
    active = np.count_nonzero(np.diff(union.indptr))
    return np.log((1.0 + active) / (1.0 + df)) + 1.0


def _with_data(stance: StanceMatrix, data: np.ndarray) -> sp.csr_matrix:
    """A CSR matrix with the stance's sparsity pattern and new values."""
    m = stance.strength
    return sp.csr_matrix((data, m.indices, m.indptr), shape=m.shape)


def _part(values: sp.csr_matrix, stance: StanceMatrix, declared: bool) -> sp.csr_matrix:
    """The entries of `values` that were declared on their own topic (or only propagated)."""
    own = stance.origin == stance.strength.indices
    values = sp.csr_matrix(values, copy=True)
    values.sort_indices()
    if not (np.array_equal(values.indptr, stance.strength.indptr)
            and np.array_equal(values.indices, stance.strength.indices)):
        raise ValueError("values must have the stance's sparsity pattern")
    values.data = values.data * (own if declared else ~own)
    values.eliminate_zeros()
    return values


def _block(terms, declared: bool | None = None) -> sp.csr_matrix:
    """The sum of a block's (values, stance, factor) terms: all entries (declared=None),
    or only those declared on their own topic (True) or only propagated (False)."""
    total = None
    for values, stance, factor in terms:
        part = values if declared is None else _part(values, stance, declared)
        part = sp.csr_matrix(part * factor)
        total = part if total is None else total + part
    return sp.csr_matrix(total)


def build_model(n_cities: int, parent, interest_rows, interest_cols, interest_stances,
                interest_maturity, evidence_rows=(), evidence_cols=()) -> MatchModel:
    """Build the scoring model from plain arrays.

    `interest_*` describe declared interests (stance codes from STANCE_CODES, maturity
    1-5); `evidence_*` list (city, topic) cells that have published experiences
    (duplicates allowed). A city with evidence on a topic it does not seek is treated as
    offering it at EVIDENCE_WEIGHT; a declared offer with evidence gets EVIDENCE_BONUS.
    """
    parent = np.asarray(parent, dtype=np.int64)
    n_topics = len(parent)
    rows = np.asarray(interest_rows, np.int64)
    cols = np.asarray(interest_cols, np.int64)
    stances = np.asarray(interest_stances, np.int64)
    maturity = np.asarray(interest_maturity, np.float64)
    declared_key = rows * n_topics + cols

    ev_key = np.unique(np.asarray(evidence_rows, np.int64) * n_topics
                       + np.asarray(evidence_cols, np.int64))
    is_offer = stances == STANCE_CODES["offers"]
    offer_strength = np.where(np.isin(declared_key[is_offer], ev_key), 1.0 + EVIDENCE_BONUS, 1.0)
    # Inferred offers: evidence on a cell the city does not declare as offered or sought.
    blocked = declared_key[stances != STANCE_CODES["working_on"]]
    inferred_key = ev_key[~np.isin(ev_key, blocked)]
    # An inferred offer on a topic the city works on keeps that declared maturity.
    working_key = declared_key[stances == STANCE_CODES["working_on"]]
    working_mat = maturity[stances == STANCE_CODES["working_on"]]
    inferred_mat = np.full(len(inferred_key), float(INFERRED_MATURITY))
    if len(working_key) and len(inferred_key):
        sorter = np.argsort(working_key)
        position = np.minimum(np.searchsorted(working_key[sorter], inferred_key),
                              len(working_key) - 1)
        hit = working_key[sorter[position]] == inferred_key
        inferred_mat[hit] = working_mat[sorter[position[hit]]]

    offers = propagate(
        np.concatenate([rows[is_offer], inferred_key // n_topics]),
        np.concatenate([cols[is_offer], inferred_key % n_topics]),
        np.concatenate([offer_strength, np.full(len(inferred_key), EVIDENCE_WEIGHT)]),
        np.concatenate([maturity[is_offer], inferred_mat]),
        np.concatenate([np.zeros(is_offer.sum(), bool), np.ones(len(inferred_key), bool)]),
        parent, n_cities, n_topics)

    def declared(code):
        sel = stances == code
        return propagate(rows[sel], cols[sel], np.ones(sel.sum()), maturity[sel],
                         np.zeros(sel.sum(), bool), parent, n_cities, n_topics)

    seeks = declared(STANCE_CODES["seeks"])
    working = declared(STANCE_CODES["working_on"])
    rarity = rarity_weights([offers, seeks, working], n_cities)

    offer_value = _with_data(offers, offers.strength.data
                             * np.exp2(offers.maturity / GAP_DOUBLING_LEVELS))
    seek_value = _with_data(seeks, seeks.strength.data
                            * np.exp2(-seeks.maturity / GAP_DOUBLING_LEVELS))
    # A city working on a topic takes an offer like a seeker at its working maturity.
    working_need = _with_data(working, working.strength.data
                              * np.exp2(-working.maturity / GAP_DOUBLING_LEVELS))
    weight = sp.diags(rarity, dtype=np.float64)
    # Each block is a sum of (values, stance, factor) terms. The partner's block b meets
    # the asker's block b: [offer | seek + working | working | seeking] against
    # [seek + working | offer | working | seeking], so "they offer what we seek or work on"
    # and its mirror share the first two blocks and the score stays one sparse product.
    partner_terms = [
        [(offer_value, offers, 1.0)],
        [(seek_value, seeks, 1.0), (working_need, working, OFFER_WORKING_WEIGHT)],
        [(working.strength, working, 1.0)],
        [(seeks.strength, seeks, 1.0)],
    ]
    query_terms = [
        [(seek_value @ weight, seeks, 1.0),
         (working_need @ weight, working, OFFER_WORKING_WEIGHT)],
        [(offer_value @ weight, offers, 1.0)],
        [(working.strength @ weight, working, JOINT_WORKING_WEIGHT)],
        [(seeks.strength @ weight, seeks, JOINT_SEEKING_WEIGHT)],
    ]
    # A match needs a declared (or wiki-inferred) entry on at least one side: two cities
    # that merely share an ancestor of different sub-topics do not match there.
    # partner·query = D_b·full_a + P_b·D_a = full·full − P_b·P_a, term by term.
    partner = sp.hstack([_block(terms, declared=True) for terms in partner_terms]
                        + [_block(terms, declared=False) for terms in partner_terms],
                        format="csr")
    query = sp.hstack([_block(terms) for terms in query_terms]
                      + [_block(terms, declared=True) for terms in query_terms],
                      format="csr")
    partner.sort_indices()
    query.sort_indices()
    return MatchModel(n_cities, n_topics, parent, rarity, offers, seeks, working,
                      partner, query, partner.T.tocsr())


# --- scoring ----------------------------------------------------------------------------

#: Column blocks of `partner`/`query` (each n_topics wide) that make up the transfer
#: score; the other blocks make up the joint score.
TRANSFER_BLOCKS = (0, 1, 4, 5)
N_BLOCKS = 8


def _block_weights(model: MatchModel, transfer: float, joint: float) -> np.ndarray:
    """A per-column factor: `transfer` on transfer blocks, `joint` on joint blocks."""
    per_block = [transfer if b in TRANSFER_BLOCKS else joint for b in range(N_BLOCKS)]
    return np.repeat(per_block, model.n_topics)


def _query_vectors(model: MatchModel, row: int, topic_mask: np.ndarray | None) -> np.ndarray:
    """Dense (8m × 2) query: column 0 the transfer half, column 1 the joint half."""
    dense = model.query[row].toarray().ravel()
    if topic_mask is not None:
        dense = dense * np.tile(topic_mask, N_BLOCKS)
    transfer = _block_weights(model, 1.0, 0.0)
    return np.column_stack([dense * transfer, dense * (1.0 - transfer)])


def _query_rows(model: MatchModel, row: int, topic_mask: np.ndarray | None) -> sp.csr_matrix:
    """Sparse (2 × 8m) query of city `row`: the transfer half and the joint half."""
    q = model.query[row]
    cols, data = q.indices, q.data
    if topic_mask is not None:
        keep = topic_mask[cols % model.n_topics]
        cols, data = cols[keep], data[keep]
    transfer = np.isin(cols // model.n_topics, TRANSFER_BLOCKS)
    return sp.csr_matrix((data, (transfer.astype(np.int64) ^ 1, cols)),
                         shape=(2, q.shape[1]))


def score_city(model: MatchModel, row: int, topic_mask: np.ndarray | None = None):
    """Transfer and joint scores of city `row` against every city (two n-vectors).

    A sparse (2 × 8m) · (8m × n) product: the work grows with how many cities share
    this city's topics, not with the size of the whole matrix.
    """
    result = (_query_rows(model, row, topic_mask) @ model.partner_t).toarray()
    transfer, joint = result[0], result[1]
    transfer[row] = joint[row] = 0.0
    return transfer, joint


def pair_scores(model: MatchModel, row: int, other: int,
                topic_mask: np.ndarray | None = None) -> tuple[float, float]:
    """Transfer and joint score of one pair (the same numbers score_city gives)."""
    if row == other:
        return 0.0, 0.0
    result = model.partner[other] @ _query_vectors(model, row, topic_mask)
    return float(result[0, 0]), float(result[0, 1])


def combine(transfer, joint):
    """The combined score: TRANSFER_WEIGHT × transfer + JOINT_WEIGHT × joint."""
    return TRANSFER_WEIGHT * transfer + JOINT_WEIGHT * joint


def top_k(scores: np.ndarray, k: int, candidates: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k best positive scores among candidates, best first (ties by index)."""
    scores = np.where(candidates, scores, 0.0) if candidates is not None else scores
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        # Everything at least as good as the k-th score, so ties break by index below.
        kth = -np.partition(-scores[positive], k - 1)[k - 1]
        positive = positive[scores[positive] >= kth]
    return positive[np.lexsort((positive, -scores[positive]))][:k]


def all_top_k(model: MatchModel, k: int = 10, block: int = 512):
    """Every city's k best partners by combined score: (indices n×k, scores n×k).

    Works in blocks of cities: S = partner · queryᵀ for a block is one sparse × dense
    product in single precision (three times faster than double here), argpartition per
    column picks a shortlist of k + SHORTLIST_EXTRA, and the shortlist is re-scored
    exactly in double precision, so the lists equal score_city()'s. Missing partners are
    -1 with score 0.0.
    """
    n = model.n_cities
    best = np.full((n, k), -1, dtype=np.int64)
    best_scores = np.zeros((n, k))
    kk = min(k, n - 1)
    if kk < 1:
        return best, best_scores
    short = min(kk + SHORTLIST_EXTRA, n - 1)
    query = (model.query @ sp.diags(_block_weights(model, TRANSFER_WEIGHT, JOINT_WEIGHT),
                                      dtype=np.float64)).tocsr()
    partner32 = model.partner.astype(np.float32)
    for start in range(0, n, block):
        stop = min(start + block, n)
        width = stop - start
        askers = np.arange(start, stop)
        dense = np.ascontiguousarray(query[start:stop].toarray().T, dtype=np.float32)
        # width × n, C-contiguous: selecting along rows is 3× faster than down columns.
        scores = np.ascontiguousarray((partner32 @ dense).T)
        scores[np.arange(width), askers] = -np.inf
        shortlist = np.argpartition(scores, n - short, axis=1)[:, n - short:]
        flat = shortlist.ravel()
        exact = np.asarray(model.partner[flat].multiply(query[np.repeat(askers, short)])
                           .sum(axis=1)).reshape(width, short)
        exact[shortlist == askers[:, None]] = 0.0
        order = np.lexsort((shortlist, -exact), axis=1)[:, :kk]
        chosen = np.take_along_axis(shortlist, order, axis=1)
        chosen_scores = np.take_along_axis(exact, order, axis=1)
        best[start:stop, :kk] = np.where(chosen_scores > 0, chosen, -1)
        best_scores[start:stop, :kk] = np.where(chosen_scores > 0, chosen_scores, 0.0)
    return best, best_scores


# --- explanations -----------------------------------------------------------------------

def _shared(ours, theirs, topic_mask):
    """Columns both rows have (within the mask) and their positions in each row."""
    cols, our_idx, their_idx = np.intersect1d(ours, theirs, assume_unique=True,
                                              return_indices=True)
    if topic_mask is not None and len(cols):
        keep = topic_mask[cols]
        cols, our_idx, their_idx = cols[keep], our_idx[keep], their_idx[keep]
    return cols, our_idx, their_idx


def explain(model: MatchModel, row: int, other: int,
            topic_mask: np.ndarray | None = None) -> list[RawReason]:
    """The reasons behind the pair's scores, strongest first.

    Entries that come from the same declared topics on both sides (a match on a topic
    and the propagated echo on its parents) are folded into one reason; reasons under
    REASON_MIN_SHARE of the pair's score are dropped; at most MAX_REASONS are kept.
    """
    if row == other:
        return []
    g = GAP_DOUBLING_LEVELS
    combos = (
        ("they_offer", model.seeks, model.offers, 1.0, True),
        ("we_offer", model.offers, model.seeks, 1.0, True),
        ("joint_working", model.working, model.working, JOINT_WORKING_WEIGHT, False),
        ("joint_seeking", model.seeks, model.seeks, JOINT_SEEKING_WEIGHT, False),
        ("they_offer_working", model.working, model.offers, OFFER_WORKING_WEIGHT, True),
        ("we_offer_working", model.offers, model.working, OFFER_WORKING_WEIGHT, True),
    )
    groups: dict[tuple, list] = {}
    total = 0.0
    for direction, our_stance, their_stance, factor, transfer in combos:
        o_cols, o_s, o_m, o_o, o_i = our_stance.row(row)
        t_cols, t_s, t_m, t_o, t_i = their_stance.row(other)
        cols, oi, ti = _shared(o_cols, t_cols, topic_mask)
        if not len(cols):
            continue
        weight = model.rarity[cols] * o_s[oi] * t_s[ti] * factor
        if direction in THEY_OFFER_DIRECTIONS:
            weight = weight * np.exp2((t_m[ti] - o_m[oi]) / g)
        elif transfer:
            weight = weight * np.exp2((o_m[oi] - t_m[ti]) / g)
        weight = weight * (TRANSFER_WEIGHT if transfer else JOINT_WEIGHT)
        for j in range(len(cols)):
            if o_o[oi[j]] != cols[j] and t_o[ti[j]] != cols[j]:
                continue  # both only propagated here: no match (see build_model)
            inferred = bool(t_i[ti[j]] if direction in THEY_OFFER_DIRECTIONS
                            else o_i[oi[j]] if transfer else False)
            reason = RawReason(int(cols[j]), direction, float(weight[j]),
                               float(t_m[ti[j]]), float(o_m[oi[j]]), inferred,
                               int(o_o[oi[j]]), int(t_o[ti[j]]))
            total += reason.weight
            groups.setdefault((direction, reason.our_origin, reason.their_origin),
                              []).append(reason)
    reasons = []
    for members in groups.values():
        head = max(members, key=lambda r: (r.weight, -r.topic))
        folded = sum(r.weight for r in members)
        reasons.append(RawReason(head.topic, head.direction, folded, head.their_maturity,
                                 head.our_maturity, head.inferred_from_wiki,
                                 head.our_origin, head.their_origin))
    reasons = [r for r in reasons if r.weight >= REASON_MIN_SHARE * total]
    reasons.sort(key=lambda r: (-r.weight, DIRECTIONS.index(r.direction), r.topic))
    return reasons[:MAX_REASONS]
