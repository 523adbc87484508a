"""The search index kept beside a store: packed, compressed token arrays and their centroids.

``search_index`` keeps it in step with the store; ``builder`` writes a part, ``part`` reads one;
``candidates`` and ``rescore`` are the two stages of a search (see ``backend.search.fast_path``).
"""
