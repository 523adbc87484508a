"""Building a test collection: query sets, pooled blind candidates, graded labels with moments,
several assessors, their agreement, adjudication, and TREC qrels.

``service.Judging`` is the entry point (``Collection.judging``); each step has its own module:
``query_files`` (reading query sets), ``rankers`` and ``fusion`` (the pooled systems),
``pooling`` (depth-k union, blind order), ``settle`` (what stands per pair), ``agreement`` and
``krippendorff`` (how far assessors agree), ``progress``, and ``commands`` (the CLI). The
qrels format itself is ``backend.eval.qrels``.
"""
