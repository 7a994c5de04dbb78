"""Fuzz target: Open311 GeoReport v2 (``/open311/...``), every route and both formats, the key as a
field, a query parameter or the ``X-Api-Key`` header, and the ``Idempotency-Key`` header.

POSTs of form-encoded or JSON service requests (valid client key mostly; every field plausible or
hostile), list queries with the spec's filters, single reads, service definitions and discovery.
Run: ``.venv/bin/python -m bench.fuzz portal`` (see ``bench/fuzz.py``).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from bench.fuzz import HEADER_TEXT, TEXT, Req, body, fields_of, form, secret, settings_of

FIELDS = (
    "api_key",
    "jurisdiction_id",
    "service_code",
    "description",
    "lat",
    "long",
    "address_string",
    "first_name",
    "last_name",
    "phone",
    "email",
    "account_id",
    "device_id",
    "media_url",
    "idempotency_key",
    "attribute[title]",
    "attribute[anonymous]",
)
CODES = st.sampled_from(["complaint", "suggestion", "praise", "graffiti", "", "complaint,report"])
PLAUSIBLE = {
    "service_code": CODES,
    "description": st.sampled_from(["胜利路路灯坏了", "小区燃气管道漏气，闻到很重的煤气味"]) | TEXT,
    "lat": st.floats(-100, 100).map(str) | TEXT,
    "long": st.floats(-200, 200).map(str) | TEXT,
    "attribute[anonymous]": st.sampled_from(["true", "false", "1"]),
}
QUERY = ("service_request_id", "service_code", "start_date", "end_date", "status", "page", "jurisdiction_id")
DATES = st.sampled_from(["2026-11-01T00:00:00Z", "2026-12-01T00:00:00+08:00", "2026-01-01", "nan"]) | TEXT


def requests(config: Any) -> st.SearchStrategy[Req]:
    key = secret(settings_of(config, "portal-bengbu").api_key)
    keys = st.sampled_from([key, key, key, "wrong-key", ""])
    fmt = st.sampled_from(["json", "xml"])
    fields = fields_of(FIELDS, PLAUSIBLE, {"service_code": "complaint", "description": "胜利路路灯坏了"})
    with_key = st.builds(lambda f, k: {**f, "api_key": k}, fields, keys)
    posts = st.one_of(
        st.builds(
            lambda f, data: Req(
                "POST",
                f"/open311/v2/requests.{f}",
                data,
                {"Content-Type": "application/x-www-form-urlencoded"},
            ),
            fmt,
            form(with_key),
        ),
        st.builds(
            lambda f, k, i, data: Req(
                "POST",
                f"/open311/v2/requests.{f}",
                data,
                {"Content-Type": "application/json", "X-Api-Key": k, "Idempotency-Key": i},
            ),
            fmt,
            keys | HEADER_TEXT,
            st.sampled_from(["portal-7f3a9c", "x" * 201, ""]) | HEADER_TEXT,
            body(fields),
        ),
    )
    query_values = {
        "start_date": DATES,
        "end_date": DATES,
        "service_code": CODES,
        "status": st.sampled_from(["open", "closed,open", "x"]),
    }
    queries = st.builds(
        lambda q, k: {str(n): str(v) for n, v in q.items()} | {"api_key": k},
        st.fixed_dictionaries({}, optional={n: query_values.get(n, TEXT) for n in QUERY}),
        keys,
    )
    ids = st.sampled_from(["BB-20261201-000001", "BB-1", "%00", "..", "²"]) | st.text(
        st.characters(blacklist_characters="/.?#%", blacklist_categories=("Cs",)), min_size=1, max_size=30
    )
    reads = st.one_of(
        st.builds(lambda f, q: Req("GET", f"/open311/v2/requests.{f}", params=q), fmt, queries),
        st.builds(lambda i, f, q: Req("GET", f"/open311/v2/requests/{i}.{f}", params=q), ids, fmt, queries),
        st.builds(lambda c, f: Req("GET", f"/open311/v2/services/{c}.{f}"), ids | CODES.filter(bool), fmt),
        st.builds(lambda f: Req("GET", f"/open311/discovery.{f}"), fmt),
        st.builds(lambda f: Req("GET", f"/open311/v2/discovery.{f}"), fmt),
        st.builds(lambda f: Req("GET", f"/open311/v2/services.{f}"), fmt),
        st.builds(  # the key as a header instead of the query
            lambda i, f, k: Req("GET", f"/open311/v2/requests/{i}.{f}", headers={"X-Api-Key": k}),
            ids,
            fmt,
            keys | HEADER_TEXT,
        ),
    )
    return st.one_of(posts, posts, reads)
